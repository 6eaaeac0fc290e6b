"""Runs every end-to-end test (tests/e2e/test_*.py) and prints the
closing line "e2e: N passed, N failed"; exits non-zero on any failure.
A test that cannot run (a client missing) fails: nothing skips quietly."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

pattern = sys.argv[1] if len(sys.argv) > 1 else "test_*.py"
suite = unittest.defaultTestLoader.discover(here, pattern=pattern, top_level_dir=here)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
skipped = len(result.skipped)
passed = result.testsRun - failed - skipped
print("e2e: %d passed, %d failed" % (passed, failed + skipped))
sys.exit(0 if failed == 0 and skipped == 0 and result.testsRun > 0 else 1)
