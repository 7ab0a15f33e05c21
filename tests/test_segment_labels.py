"""Quartile groups of a numeric segment column are labelled with their edges as people write
them: pandas' qcut moves the lowest edge down by 0.001, which as a float is often
6.9799999999999995. On scikit-learn's breast cancer columns."""

from __future__ import annotations


def test_quartile_labels_show_no_float_noise() -> None:
    from sklearn.datasets import load_breast_cancer

    from cockpit.evaluation.segments import groups_of

    frame = load_breast_cancer(as_frame=True).frame
    radius = groups_of(frame["mean radius"])
    assert sorted(set(radius)) == ["(11.7, 13.37]", "(13.37, 15.78]", "(15.78, 28.11]", "(6.98, 11.7]"]
    assert radius[frame["mean radius"] == frame["mean radius"].min()].unique().tolist() == ["(6.98, 11.7]"]
    texture = set(groups_of(frame["mean texture"]))
    assert "(9.709, 16.17]" in texture and len(texture) == 4
