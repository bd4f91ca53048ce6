"""The ``metaframe`` command line. Each sub-command is a module with ``add_parser`` and ``run``.

Modules here import nothing heavy at module level, so registry commands stay torch-free.
"""
