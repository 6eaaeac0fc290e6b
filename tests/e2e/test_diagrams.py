"""The hand-written state diagrams in docs/diagrams/ (Graphviz source)
must agree with the dispatch tables, read through `postoffice commands`:
every command edge leaves a state where the table allows that verb, every
verb allowed in a state has an edge from it, and the diagram's states are
the table's."""
import os
import re
import subprocess
import unittest

from harness import BINARY

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EDGE = re.compile(r'^\s*(\w+) -> (\w+) \[label="([^"]*)"\];\s*$')
EXTRA_NODES = {"START", "CLOSED"}


def table(proto):
    """{verb: set(states)} and the list of states, from the reference."""
    out = subprocess.run([BINARY, "commands", proto], capture_output=True,
                         check=True).stdout.decode()
    states = re.search(r"States: ([^.]*)\.", out).group(1).split(", ")
    verbs = {}
    for m in re.finditer(r"^\| `(\w+)` \|[^|]*\| ([^|]*) \|", out, re.M):
        verbs.setdefault(m.group(1), set()).update(
            s.strip() for s in m.group(2).split(","))
    return verbs, states


def edges(proto):
    path = os.path.join(ROOT, "docs", "diagrams", proto + ".dot")
    with open(path) as f:
        text = f.read()
    found = [EDGE.match(l).groups() for l in text.splitlines() if EDGE.match(l)]
    # Every "->" line must be an edge the pattern reads, or it is unchecked.
    arrows = [l for l in text.splitlines() if "->" in l and not l.lstrip().startswith("//")]
    return found, len(arrows)


class Diagrams(unittest.TestCase):

    def check(self, proto):
        verbs, states = table(proto)
        found, arrows = edges(proto)
        self.assertEqual(len(found), arrows, "an edge the test cannot read")
        self.assertGreater(len(found), 5)
        covered = set()
        nodes = set()
        for src, dst, label in found:
            nodes.update((src, dst))
            word = re.split(r"[\s,/]+", label)[0]
            if word in verbs:
                self.assertIn(src, verbs[word],
                              "%s: %s is not allowed in %s" % (proto, word, src))
                covered.add((word, src))
            else:
                self.assertTrue(word[0].islower(),
                                "%s: %r is neither a verb of the table nor "
                                "a lower-case event" % (proto, label))
        for verb, allowed in verbs.items():
            for st in allowed:
                self.assertIn((verb, st), covered,
                              "%s: no edge for %s in %s" % (proto, verb, st))
        self.assertEqual(nodes - EXTRA_NODES, set(states), proto)

    def test_pop3(self):
        self.check("pop3")

    def test_pop2(self):
        self.check("pop2")

    def test_pop1(self):
        self.check("pop1")


if __name__ == "__main__":
    unittest.main()
