"""Holds objects given to ``temporary_modality`` so manifests can name them as "module:attr".

A manifest names code by reference strings only; a test's own classes and functions become
attributes of this module (with unique names) for as long as their modality is registered.
"""
