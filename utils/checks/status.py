"""The outcomes of a check, the one vocabulary every part of the course uses."""
PASS, FAIL, NOT_ATTEMPTED, ERROR = "PASS", "FAIL", "NOT ATTEMPTED", "ERROR"
STATUSES = (PASS, FAIL, NOT_ATTEMPTED, ERROR)
