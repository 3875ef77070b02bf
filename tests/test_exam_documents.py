"""Exam documents: the [exam] table (sub-questions, marks, set-up text), answer space, answers, and
the warning when the question's set-up text prints an answer."""

from __future__ import annotations

import re

import mpmath

from conftest import run_cli_here as run_cli
from symderiv.api import derive
from symderiv.render import Options, render
from symderiv.render.exam import given_away, tasks_for
from symderiv.spec.load import parse_spec_text

SPEC = """
[example]
name = "exam-rnn"
kind = "rnn"
title = "A one-unit RNN for the exam"
description = "Two inputs 1 and 2 go through one tanh unit; the output is compared with 0.5."

[network]
hidden_size = 1

[input]
sequence = [1, 2]

[target]
value = 0.5

[parameters]
W_xh = [[0.5]]
W_hh = [[0.25]]
W_hz = [[2]]

[training]
learning_rate = 0.1
"""

EXAM = """
[exam]
ask = [["a_1", "h_1"], "L", "dL/dW_hh"]
marks = { a_1 = 1, h_1 = 1, L = 2, "dL/dW_hh" = 4 }
setup = "Two inputs go through one tanh unit."
"""


def _spec(tmp_path, text: str):
    path = tmp_path / "exam.toml"
    path.write_text(text)
    return path


def test_sub_questions_follow_the_exam_table_with_their_marks(tmp_path):
    d = derive(str(_spec(tmp_path, SPEC + EXAM)))
    tasks = tasks_for(d)
    assert [t.names for t in tasks] == [("a_1", "h_1"), ("L",), ("dL/dW_hh",)]
    assert [t.marks for t in tasks] == [2, 2, 4]
    assert tasks[2].text.startswith(r"Derive $\frac{\partial L}{\partial W_{hh}}$")
    assert tasks[2].space > tasks[1].space                       # more marks, more room to answer
    docs = render("t", [(d, None, [])], Options(questions=True))
    questions = docs["questions"].split(r"\begin{document}")[1]
    assert questions.count(r"\answerspace{") == 3 and r"\taskmarks{4 marks}" in questions
    assert "Two inputs go through one tanh unit." in questions and "0.5" not in questions.split("begin{center}")[0]


def test_solutions_list_the_answers_a_marker_looks_for(tmp_path):
    d = derive(str(_spec(tmp_path, SPEC + EXAM)))
    solutions = render("t", [(d, None, [])], Options(slides=False))["solutions"]
    answers = solutions.split(r"\subsubsection*{Answers}")[1]
    h1 = mpmath.tanh(mpmath.mpf("0.5"))
    assert "a_{1} = 0.5" in answers and mpmath.nstr(h1, 4) in answers


def test_without_an_exam_table_the_whole_derivation_is_asked():
    tasks = tasks_for(derive("mlp-sigmoid"))
    assert [t.marks for t in tasks] == [None] * len(tasks) and "forward pass" in tasks[0].text


def test_a_set_up_that_prints_an_answer_is_reported(tmp_path):
    # h_1 = tanh(0.5) ≈ 0.4621: the description gives it away
    text = SPEC.replace("compared with 0.5.", "compared with 0.5; the first state is 0.462.")
    d = derive(str(_spec(tmp_path, text)))
    (line,) = given_away(d, "exam.toml")
    assert "field 'example.description'" in line and "0.462 (h_1)" in line and "0.5" not in line.split("answers:")[1]
    proc = run_cli("build", tmp_path / "exam.toml", "--questions", "--out", tmp_path / "out")
    assert proc.returncode == 0 and "0.462 (h_1)" in proc.stderr and proc.stderr.count("\n") == 1
    assert given_away(derive("cnn-image"), "x") == [] and given_away(derive("rnn-timeseries"), "x") == []


def test_exam_table_errors_name_the_field(tmp_path):
    cases = {
        'ask = ["L", "dL/dW_xx"]': "field 'exam.ask[1]': expected a quantity the example computes",
        'ask = ["L", "W_xh"]': "'W_xh' (a given value)",
        'ask = "L"': "field 'exam.ask': expected a list",
        'ask = ["L"]\nmarks = { h_1 = 1 }': "field 'exam.marks.h_1': expected marks for a quantity that exam.ask names",
        'ask = ["L"]\nmarks = { L = -1 }': "field 'exam.marks.L': expected a whole number of at least 0",
        'ask = ["L"]\npoints = 3': "field 'exam.points'",
    }
    for body, message in cases.items():
        spec = _spec(tmp_path, SPEC + "\n[exam]\n" + body + "\n")
        proc = run_cli("build", spec, "--questions", "--out", tmp_path / "out")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, (body, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (body, proc.stderr)
        assert not (tmp_path / "out").exists()


def test_every_spec_kind_accepts_an_exam_table():
    for name, ask in (("mlp-sigmoid", "L"), ("cnn-image-sigmoid", "dL/dk"), ("rnn-text", "yhat_3")):
        from symderiv.spec.load import builtin_text
        text = re.sub(r"\n\[exam\].*", "", builtin_text(name), flags=re.S) + f'\n[exam]\nask = ["{ask}"]\n'
        spec = parse_spec_text(text)
        assert spec.exam.ask == ((ask,),)
