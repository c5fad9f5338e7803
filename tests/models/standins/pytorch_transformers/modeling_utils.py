"""pytorch_transformers.modeling_utils (1.x) as MMSA's CENET uses it."""

import torch
from torch import nn

# name passed to from_pretrained → keyword arguments of the BertConfig to build; the generator
# fills it with tiny configurations before it builds MMSA's models.
STANDIN_CONFIGS = {}


class PretrainedConfig:
    """The attributes pytorch_transformers 1.x gives every configuration; keyword arguments
    become attributes."""

    def __init__(self, **kwargs):
        self.finetuning_task = kwargs.pop("finetuning_task", None)
        self.num_labels = kwargs.pop("num_labels", 2)
        self.output_attentions = kwargs.pop("output_attentions", False)
        self.output_hidden_states = kwargs.pop("output_hidden_states", False)
        self.torchscript = kwargs.pop("torchscript", False)
        self.pruned_heads = kwargs.pop("pruned_heads", {})
        for key, value in kwargs.items():
            setattr(self, key, value)

    @classmethod
    def from_pretrained(cls, name, **kwargs):
        """The named configuration; keyword arguments naming attributes it has replace them
        (pytorch_transformers ignores the others unless return_unused_kwargs is set)."""
        if name not in STANDIN_CONFIGS:
            raise KeyError(f"stand-in pytorch_transformers: no configuration for {name!r}; the "
                           f"generator sets pytorch_transformers.STANDIN_CONFIGS[{name!r}]")
        config = cls(**STANDIN_CONFIGS[name])
        for key, value in kwargs.items():
            if hasattr(config, key):
                setattr(config, key, value)
        return config


class BertConfig(PretrainedConfig):
    def __init__(self, vocab_size_or_config_json_file=30522, hidden_size=768,
                 num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02,
                 layer_norm_eps=1e-12, **kwargs):
        # transformers' spelling, which the generator's shared tiny configurations use
        vocab_size = kwargs.pop("vocab_size", vocab_size_or_config_json_file)
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps


class PreTrainedModel(nn.Module):
    config_class = None
    pretrained_model_archive_map = {}
    base_model_prefix = ""

    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        if not isinstance(config, PretrainedConfig):
            raise ValueError(f"{type(self).__name__}: config must be a PretrainedConfig")
        self.config = config

    def init_weights(self):
        self.apply(self._init_weights)

    @classmethod
    def from_pretrained(cls, name, *model_args, **kwargs):
        """cls(config, *model_args, **kwargs) in eval mode, with `config` (a keyword argument)
        or the named configuration. The real package then loads the named weights; here the
        model keeps its random initialisation."""
        config = kwargs.pop("config", None)
        if config is None:
            config = cls.config_class.from_pretrained(name)
        model = cls(config, *model_args, **kwargs)
        model.eval()
        return model


def prune_linear_layer(layer, index, dim=0):
    """A copy of `layer` keeping only the entries `index` along `dim` of its weight (and of its
    bias when dim is 0)."""
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).clone().detach()
    if layer.bias is not None:
        bias = layer.bias.clone().detach() if dim == 1 else layer.bias[index].clone().detach()
    size = list(layer.weight.size())
    size[dim] = len(index)
    pruned = nn.Linear(size[1], size[0], bias=layer.bias is not None).to(layer.weight.device)
    with torch.no_grad():
        pruned.weight.copy_(weight.contiguous())
        if layer.bias is not None:
            pruned.bias.copy_(bias.contiguous())
    return pruned
