"""Benchmarks of Berth against its ceilings: `python -m bench [--quick] [--only SECTION]`.

Not a test suite: nothing here is collected by pytest (`testpaths = ["tests"]`, and no
`test_*` names), and `.ci/run` does not run it. See `bench/__main__.py` for the sections.
"""
