"""Grading a class with nbgrader, unbroken by bad submissions (``python -m autograder grade``)."""
