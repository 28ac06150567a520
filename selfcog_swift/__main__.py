from .cli import main

# Guarded: evaluation workers (engines.py) start by spawn, which imports the parent's __main__ again.
if __name__ == "__main__":
    main()
