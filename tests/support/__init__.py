"""What the tests share: servers and processes they start, events they send, fakes they pass.

Test modules import from here (`from support.paths import FIXTURES`), never from one another;
pyproject's `pythonpath = ["tests"]` puts this package on the import path.
"""
