"""`vigil demo`: the whole platform on one machine, a compressed day of traffic with an attack storyline, and the
three views (edge, analysts, auditors). See docs/demo.md."""
