"""Test code shared by several test modules: nothing here ships in the wheel."""
