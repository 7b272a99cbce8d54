"""The book's figures: functions ``(tidy frame, ...) -> matplotlib Figure``, one module per chapter.

Notebooks load their chapter's frames, call these and publish the figure (:func:`leakage.publish.publish`); a
figure function computes nothing beyond what it draws (no attack, no statistic), reads only the frame it is given
and imports nothing above :mod:`leakage.publish` / :mod:`leakage.results`.
"""
