"""Console-script entry point (`vigil`)."""

from vigil.commands import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
