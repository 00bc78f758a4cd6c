"""Browser tests: the course's widgets used in JupyterLab in Chromium (see conftest.py)."""
