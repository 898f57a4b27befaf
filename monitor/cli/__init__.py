"""`imagewatch`, the command line: `main` is the click group (`monitor.cli.main`), and each
command group has its own module here holding its flags and its body."""

from monitor.cli.main import main

__all__ = ["main"]
