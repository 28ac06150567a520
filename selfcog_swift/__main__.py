from .cli import main

# Guarded so that importing this module (multiprocessing's spawn does) runs nothing.
if __name__ == "__main__":
    main()
