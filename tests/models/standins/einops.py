"""A stand-in for einops' `rearrange` and `repeat` on torch tensors (see README.md).

Patterns are einops' notation without ellipsis: axis names separated by spaces, parentheses
grouping axes into one dimension (row-major, the first name outermost), and `1` for an
anonymous axis of length one. `rearrange` permutes, splits and merges axes; `repeat` may also
introduce named axes on the right that the left lacks, whose lengths are given as keywords
(each input element is copied along them). Lengths of axes inside a group on the left are
deduced from the tensor's shape when at most one of them is not given.
"""

import math

__all__ = ["rearrange", "repeat"]


def _parse_side(text):
    """A side of a pattern as a list of groups; each group is a list of axis names
    ('1' for an anonymous axis) and stands for one dimension."""
    groups, current = [], None
    for token in text.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if current is not None:
                raise ValueError(f"einops stand-in: nested parentheses in {text!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"einops stand-in: unbalanced ')' in {text!r}")
            groups.append(current)
            current = None
        elif token == "...":
            raise ValueError("einops stand-in: ellipsis is not supported")
        elif token == "1" or token.isidentifier():
            if current is not None:
                current.append(token)
            else:
                groups.append([token])
        else:
            raise ValueError(f"einops stand-in: bad axis {token!r} in {text!r}")
    if current is not None:
        raise ValueError(f"einops stand-in: unbalanced '(' in {text!r}")
    return groups


def _parse(pattern):
    if pattern.count("->") != 1:
        raise ValueError(f"einops stand-in: pattern needs exactly one '->': {pattern!r}")
    left, right = (_parse_side(side) for side in pattern.split("->"))
    for side in (left, right):
        names = [name for group in side for name in group if name != "1"]
        if len(names) != len(set(names)):
            raise ValueError(f"einops stand-in: an axis appears twice on a side of {pattern!r}")
    return left, right


def _deduce_lengths(left, shape, lengths):
    if len(left) != len(shape):
        raise ValueError(f"einops stand-in: the pattern has {len(left)} dimensions, the tensor "
                         f"{len(shape)}")
    known = dict(lengths)
    for group, size in zip(left, shape):
        unknown = [name for name in group if name != "1" and name not in known]
        product = math.prod(known[name] for name in group if name != "1" and name in known)
        if len(unknown) > 1:
            raise ValueError(f"einops stand-in: cannot deduce the lengths of {unknown}")
        if unknown:
            if product == 0 or size % product != 0:
                raise ValueError(f"einops stand-in: dimension {size} does not split by {product}")
            known[unknown[0]] = size // product
        elif product != size:
            raise ValueError(f"einops stand-in: dimension {size} is not {group} = {product}")
    return known


def _transform(tensor, pattern, lengths, allow_new):
    left, right = _parse(pattern)
    known = _deduce_lengths(left, tuple(tensor.shape), lengths)
    left_names = [name for group in left for name in group if name != "1"]
    right_names = [name for group in right for name in group if name != "1"]
    new_names = [name for name in right_names if name not in left_names]
    if set(left_names) - set(right_names):
        raise ValueError(f"einops stand-in: axes {sorted(set(left_names) - set(right_names))} "
                         f"of the input are missing on the right of {pattern!r}")
    if new_names and not allow_new:
        raise ValueError(f"einops stand-in: rearrange cannot introduce axes {new_names}")
    for name in new_names:
        if name not in known:
            raise ValueError(f"einops stand-in: repeat needs the length of new axis {name!r}")
    # One dimension per named input axis (anonymous ones dropped), then the new axes as
    # broadcast dimensions of length one, expanded to their lengths.
    x = tensor.reshape([known[name] for name in left_names])
    order = [left_names.index(name) for name in right_names if name in left_names]
    x = x.permute(order) if order else x
    view_shape = [known[name] if name in left_names else 1 for name in right_names]
    x = x.reshape(view_shape).expand([known[name] for name in right_names])
    final = [math.prod(known[name] for name in group if name != "1") for group in right]
    return x.reshape(final)


def rearrange(tensor, pattern, **axes_lengths):
    return _transform(tensor, pattern, axes_lengths, allow_new=False)


def repeat(tensor, pattern, **axes_lengths):
    return _transform(tensor, pattern, axes_lengths, allow_new=True)
