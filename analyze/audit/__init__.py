"""The audit ladder (black-box rungs, then white-box), and removal of the behaviour by steering."""
