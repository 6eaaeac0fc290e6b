"""The generated protocol reference must match the tables that dispatch."""
import os
import subprocess
import unittest

from harness import BINARY

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class CommandsReference(unittest.TestCase):
    def test_committed_reference_is_current(self):
        out = subprocess.run([BINARY, "commands"], capture_output=True,
                             check=True).stdout
        with open(os.path.join(ROOT, "docs", "commands.md"), "rb") as f:
            committed = f.read()
        self.assertEqual(out, committed,
                         "docs/commands.md is stale: run `make docs`")

    def test_each_protocol_alone(self):
        for proto, verbs in (("pop3", [b"`RETR`", b"`UIDL`", b"`TOP`"]),
                             ("pop2", [b"`HELO`", b"`FOLD`", b"`ACKD`"]),
                             ("pop1", [b"`RDEL`", b"`RCEV`", b"`RCVD`"])):
            out = subprocess.run([BINARY, "commands", proto],
                                 capture_output=True, check=True).stdout
            for v in verbs:
                self.assertIn(v, out, proto)

    def test_unknown_protocol_is_refused(self):
        p = subprocess.run([BINARY, "commands", "pop4"], capture_output=True)
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"pop1, pop2 or pop3", p.stderr)
