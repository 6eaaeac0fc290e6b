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


class ConfigReference(unittest.TestCase):
    """Every key the config parser accepts is documented in the manual page
    and the README, so operators can find what the code reads."""

    def keys_in_parser(self):
        import re
        with open(os.path.join(ROOT, "src", "config.c")) as f:
            keys = re.findall(r'strcmp\(key, "([a-z_0-9]+)"\)', f.read())
        self.assertGreater(len(keys), 10)
        return keys

    def test_every_key_is_in_the_manual_page(self):
        with open(os.path.join(ROOT, "docs", "postoffice.conf.5")) as f:
            man = f.read().replace("\\-", "-")
        for key in self.keys_in_parser():
            self.assertRegex(man, r"\.BI? \"?%s\b" % key, key)

    def test_every_key_is_in_the_readme(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        for key in self.keys_in_parser():
            self.assertIn("`%s " % key, readme, key)

    def test_manual_pages_render(self):
        for page in ("postoffice.8", "postoffice.conf.5"):
            p = subprocess.run(["man", "-l", "--warnings",
                                os.path.join(ROOT, "docs", page)],
                               capture_output=True,
                               env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual(p.returncode, 0, page)
            self.assertIn(b"postoffice", p.stdout)
            self.assertEqual(p.stderr, b"", page)
