"""Lesson numbers in the text point at the right lessons.

A notebook that writes "lesson 10 (optimizers)" is only right if lesson 10 is the optimizers
lesson. Every "lesson NN (topic)" in a master notebook must name a topic of lesson NN, every lesson
number anywhere must exist, and each notebook's heading carries its own number.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MASTERS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))

# Words that may describe each lesson in a parenthesis after its number (lower case).
TOPICS = {
    "00": ["welcome", "images", "tensors", "flattening", "scaling"],
    "01": ["linear", "softmax", "cross-entropy", "scores", "gradient", "here given"],
    "02": ["neural network", "backpropagation", "dense", "gradients", "nonlinearity"],
    "03": ["convolution", "stride", "padding", "equivariance"],
    "04": ["pooling", "head", "invariance"],
    "05": ["activation"],
    "06": ["normalization", "batchnormalization"],
    "07": ["first cnn", "training", "model.fit"],
    "08": ["augmentation", "data splits", "data preparation", "tf.data"],
    "09": ["loss"],
    "10": ["optimizer"],
    "11": ["schedule"],
    "12": ["regularization", "overfitting", "pathologies"],
    "13": ["architecture", "vgg", "inception", "resnet", "mobilenet"],
    "14": ["what a cnn learns", "saliency", "grad-cam", "feature maps", "visualization"],
    "15": ["evaluation", "ensemble", "early stopping"],
    "16": ["search", "kerastuner", "tuning"],
    "17": ["transfer"],
    "18": ["capstone"],
}
NUMBER = r"\d{2}\b(?:\s*\((?:[^()]|\([^()]*\))*\))?"
REFERENCE = re.compile(rf"\b[Ll]essons?\s+({NUMBER}(?:\s*(?:,|and|or|to|–)\s*{NUMBER})*)")
ITEM = re.compile(r"(–\s*)?(\d{2})\b(?:\s*\(((?:[^()]|\([^()]*\))*)\))?")


def references(text: str):
    """(number, topic or None, part of a range) for every lesson reference in the text."""
    for match in REFERENCE.finditer(text):
        for item in ITEM.finditer(match.group(1)):
            yield item.group(2), item.group(3), bool(item.group(1))


def notebook_text(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


LESSONS = {p.name[:2] for p in MASTERS}


def mismatches(text: str) -> list[str]:
    """What is wrong with the lesson references of a text."""
    wrong = []
    for number, topic, in_range in references(text):
        if number not in LESSONS:
            wrong.append(f"lesson {number} does not exist")
        elif topic and not in_range and not any(w in " ".join(topic.lower().split())
                                                 for w in TOPICS[number]):
            wrong.append(f"lesson {number} is not about {topic!r}")
    return wrong


def test_every_lesson_has_topics():
    assert LESSONS <= set(TOPICS)


def test_references_are_found():
    found = list(references("see lessons 03–05 (convolution, pooling), 10 (optimizers) and 12"))
    assert found == [("03", None, False), ("05", "convolution, pooling", True),
                     ("10", "optimizers", False), ("12", None, False)]


def test_a_wrong_number_is_caught():
    assert mismatches("as in lesson 11 (optimizers), lesson 10 (optimizers)") == [
        "lesson 11 is not about 'optimizers'"]
    assert mismatches("see lesson 42") == ["lesson 42 does not exist"]


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.stem)
def test_lesson_references_match_their_topics(path):
    wrong = mismatches(notebook_text(path))
    assert not wrong, f"{path.name}: " + "; ".join(wrong)


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.stem)
def test_heading_carries_the_lesson_number(path):
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    assert "".join(first["source"]).startswith(f"# {path.name[:2]} · ")


@pytest.mark.parametrize("name", ["README.md", "docs/glossary.md", "docs/grading.md",
                                  "docs/authoring.md", "data/README.md"])
def test_docs_name_existing_lessons(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    missing = {n for n, _, _ in references(text) if n not in LESSONS}
    missing |= {n for n in re.findall(r"lessons/(\d{2})_", text) if n not in LESSONS}
    assert not missing, f"{name} names lessons that do not exist: {sorted(missing)}"


def test_glossary_lessons_are_links_to_existing_lessons():
    rows = [line for line in (ROOT / "docs/glossary.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| English")]
    assert rows
    for row in rows:
        column = row.rsplit("|", 2)[-2].strip()
        link = r"\[(\d{2})\]\(\.\./lessons/((\d{2})_[a-z0-9_]+\.ipynb)\)"
        links = re.findall(link, column)
        assert links and not re.search(r"\d", re.sub(link, "", column)), row
        for number, name, prefix in links:
            assert number == prefix and (ROOT / "lessons" / name).is_file(), row
