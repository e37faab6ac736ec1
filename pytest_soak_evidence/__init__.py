"""Readers and writers of the evidence formats that the pipeline and the harness share.

Both `orchestrator` (which writes evidence) and `pytest_soak` (which judges it) import this
package; it imports neither, so the system under test never depends on its harness.
"""
