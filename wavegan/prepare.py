"""``python -m wavegan.prepare``: the same command as ``python -m wavegan.data`` (see there)."""
from wavegan.data import main

if __name__ == "__main__":
    main()
