"""The student's work folder: lessons copied once, never overwritten."""
from utils import start
from utils.checks import tracking
from utils.course import ROOT


def lessons_in(folder, names=("00_welcome.ipynb", "01_linear_classifier.ipynb")):
    folder.mkdir()
    for name in names:
        (folder / name).write_text(f"lesson {name}", encoding="utf-8")
    return folder


def test_lessons_are_copied_once_and_work_is_kept(tmp_path):
    lessons, work = lessons_in(tmp_path / "lessons"), tmp_path / "my_work"
    done = start.make_work_folder(work, lessons)
    assert done.new == ["00_welcome.ipynb", "01_linear_classifier.ipynb"] and not done.kept
    (work / "00_welcome.ipynb").write_text("my answers", encoding="utf-8")
    (lessons / "02_neural_networks.ipynb").write_text("a new lesson", encoding="utf-8")
    again = start.make_work_folder(work, lessons)
    assert again.new == ["02_neural_networks.ipynb"] and len(again.kept) == 2
    assert (work / "00_welcome.ipynb").read_text(encoding="utf-8") == "my answers"
    assert (work / tracking.WORK_MARKER).is_file()


def test_bad_targets_give_a_message_and_touch_nothing(tmp_path, capsys):
    taken = tmp_path / "file"
    taken.write_text("mine", encoding="utf-8")
    assert start.main(["--to", str(taken)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert taken.read_text(encoding="utf-8") == "mine"


def test_the_real_lessons_go_to_the_chosen_folder(tmp_path, capsys):
    assert start.main(["--to", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out
    assert "copied" in out and (tmp_path / "work" / "03_convolution.ipynb").is_file()


def test_a_students_own_utils_file_is_named_before_it_shadows_the_course(tmp_path, capsys):
    from utils.session import shadowing_file

    assert shadowing_file(tmp_path) is None
    (tmp_path / "utils.py").write_text("x = 1\n")
    assert shadowing_file(tmp_path) == tmp_path / "utils.py"
    assert start.main(["--to", str(tmp_path)]) == 0
    assert "utils.py has the same name as the course library" in capsys.readouterr().out
    assert (tmp_path / "utils.py").read_text() == "x = 1\n"      # left as it was
    assert shadowing_file(ROOT) is None                          # the course itself is not a clash
