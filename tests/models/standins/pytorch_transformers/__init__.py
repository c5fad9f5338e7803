"""A stand-in for pytorch_transformers 1.x, the parts MMSA's CENET uses (see ../README.md):
BertConfig, BERT_PRETRAINED_MODEL_ARCHIVE_MAP, and modeling_utils' PreTrainedModel and
prune_linear_layer. CENET brings its own BERT modules; this package supplies only the
configuration and the pretrained-model plumbing around them."""

from .modeling_utils import (STANDIN_CONFIGS, BertConfig, PretrainedConfig, PreTrainedModel,
                             prune_linear_layer)

# pytorch_transformers maps each pretrained name to the URL of its weights. Nothing is
# downloaded here: from_pretrained builds STANDIN_CONFIGS[name] with random weights.
BERT_PRETRAINED_MODEL_ARCHIVE_MAP = {}

__all__ = ["BertConfig", "PretrainedConfig", "PreTrainedModel", "prune_linear_layer",
           "BERT_PRETRAINED_MODEL_ARCHIVE_MAP", "STANDIN_CONFIGS"]
