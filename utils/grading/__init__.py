"""The classroom grader: each submission in a sandbox, every answer judged outside it.

- :mod:`.lessons` finds a lesson's questions (from source), :mod:`.intake` the submissions;
- :mod:`.sandbox` (bubblewrap) and :mod:`.kernel` run a notebook; :mod:`.agent` is the grader's
  only code in the kernel, :mod:`.codec` the plain data that crosses, :mod:`.remote` and
  :mod:`.judge` the checks' side;
- :mod:`.worker` grades one submission, :mod:`.pool` many, :mod:`.gradebook` writes the CSV and
  the feedback, :mod:`.cli` is the command line; :mod:`.records` holds the typed records.
"""
