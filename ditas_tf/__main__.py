"""``python -m ditas_tf`` is the ``ditas`` command."""

from ditas_tf.cli import main

if __name__ == "__main__":
    main()
