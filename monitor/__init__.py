"""How imagewatch runs: config, store, runner, command line, simulator."""
