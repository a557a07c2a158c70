from labeling.cli import run

run()
