"""Gradescope: the autograder zip that grades one submission per container, as local grading does.

- ``bundle``: ``python -m autograder gradescope`` writes ``<grading>/gradescope/<id>.zip``
  (``setup.sh``, ``run_autograder``, the course wheel, the term's salt, the assignment's
  nbgrader source and release notebooks and ``nbgrader_config.py``);
- ``run``: what those scripts call inside the container (``prepare`` once when Gradescope builds
  the image, ``grade`` for every submission): the submission goes through
  ``autograder.grading.pipeline`` as a class of one, sandboxed exactly as local grading is;
- ``results``: the pipeline's grades as Gradescope's ``results.json``.
"""
