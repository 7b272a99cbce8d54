# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproduction scorecard
#
# Every claim the chapters check, side by side with the paper's value. The "ours" column and
# the verdict are computed by the chapter notebooks of this build (from
# `results/<profile>/claims/*.csv`); nothing here is typed in by hand. A verdict of
# "not comparable" means the build could not test the claim as stated (for example, it ran on a
# different data set than the paper's number).

# %% tags=["parameters"]
profile = "smoke"  # whose results to summarise

# %% tags=["remove-input"]
from IPython.display import Markdown

from leakage.results import load_claims

claims = load_claims(profile)
counts = claims["verdict"].value_counts()
Markdown(f"Build profile **{profile}**: {len(claims)} claims; "
         + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) + ".")

# %% tags=["remove-input"]
claims[["chapter", "item", "claim", "paper", "ours", "verdict"]].style.hide(axis="index").map(
    lambda v: {"reproduced": "color: #1a7f37", "not reproduced": "color: #cf222e"}.get(v, ""), subset=["verdict"])
