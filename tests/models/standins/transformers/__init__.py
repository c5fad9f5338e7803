"""A stand-in for Hugging Face transformers' BERT and RoBERTa (see ../README.md)."""

import copy

import torch
from torch import nn

from .models.bert.modeling_bert import (BertEmbeddings, BertEncoder, BertPooler,
                                        ModelOutput)

# name passed to from_pretrained → keyword arguments of the configuration to build; the
# generator fills this with tiny configurations before it builds MMSA's models.
STANDIN_CONFIGS = {}


class PretrainedConfig:
    def __init__(self, **kwargs):
        self.is_decoder = False
        self.output_attentions = False
        self.output_hidden_states = False
        self.use_return_dict = True
        self.num_labels = 2
        self.initializer_range = 0.02
        for key, value in kwargs.items():
            setattr(self, key, value)


class BertConfig(PretrainedConfig):
    model_type = "bert"

    def __init__(self, vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
                 hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                 pad_token_id=0, **kwargs):
        super().__init__(vocab_size=vocab_size, hidden_size=hidden_size,
                         num_hidden_layers=num_hidden_layers,
                         num_attention_heads=num_attention_heads,
                         intermediate_size=intermediate_size, hidden_act=hidden_act,
                         hidden_dropout_prob=hidden_dropout_prob,
                         attention_probs_dropout_prob=attention_probs_dropout_prob,
                         max_position_embeddings=max_position_embeddings,
                         type_vocab_size=type_vocab_size, layer_norm_eps=layer_norm_eps,
                         pad_token_id=pad_token_id, **kwargs)


class RobertaConfig(BertConfig):
    model_type = "roberta"

    def __init__(self, pad_token_id=1, layer_norm_eps=1e-5, max_position_embeddings=514,
                 type_vocab_size=1, **kwargs):
        super().__init__(pad_token_id=pad_token_id, layer_norm_eps=layer_norm_eps,
                         max_position_embeddings=max_position_embeddings,
                         type_vocab_size=type_vocab_size, **kwargs)


def _standin_config(name, config_class, overrides):
    if name not in STANDIN_CONFIGS:
        raise KeyError(f"stand-in transformers: no configuration for {name!r}; the generator "
                       f"sets transformers.STANDIN_CONFIGS[{name!r}]")
    config = config_class(**STANDIN_CONFIGS[name])
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


class PreTrainedModel(nn.Module):
    config_class = BertConfig
    base_model_prefix = "bert"

    def __init__(self, config, *args, **kwargs):
        super().__init__()
        self.config = config

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
        if isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    def init_weights(self):
        self.apply(self._init_weights)

    post_init = init_weights

    @classmethod
    def from_pretrained(cls, name, *model_args, **kwargs):
        # transformers routes keyword arguments that are configuration attributes to the
        # configuration and the rest to the model's constructor.
        config_keys = {"num_labels", "output_attentions", "output_hidden_states"}
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in config_keys}
        config = _standin_config(name, cls.config_class, overrides)
        model = cls(config, *model_args, **kwargs)
        model.eval()
        return model

    def get_extended_attention_mask(self, attention_mask, input_shape=None, device=None):
        if attention_mask.dim() == 3:
            extended = attention_mask[:, None, :, :]
        else:
            extended = attention_mask[:, None, None, :]
        extended = extended.to(dtype=self.dtype)
        return (1.0 - extended) * torch.finfo(self.dtype).min

    def get_head_mask(self, head_mask, num_hidden_layers):
        return [None] * num_hidden_layers if head_mask is None else head_mask


class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig


class BertModel(BertPreTrainedModel):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None,
                position_ids=None, head_mask=None, inputs_embeds=None, **unused):
        shape = input_ids.size() if input_ids is not None else inputs_embeds.size()[:-1]
        if attention_mask is None:
            attention_mask = torch.ones(shape)
        extended = self.get_extended_attention_mask(attention_mask, shape)
        embedding = self.embeddings(input_ids=input_ids, position_ids=position_ids,
                                    token_type_ids=token_type_ids, inputs_embeds=inputs_embeds)
        sequence = self.encoder(embedding, attention_mask=extended,
                                head_mask=self.get_head_mask(head_mask,
                                                             self.config.num_hidden_layers))[0]
        pooled = self.pooler(sequence) if self.pooler is not None else None
        return ModelOutput(last_hidden_state=sequence, pooler_output=pooled)


class RobertaEmbeddings(BertEmbeddings):
    """BERT's embeddings with positions counted from padding_idx + 1 over non-padding tokens."""

    def __init__(self, config):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.position_embeddings = nn.Embedding(config.max_position_embeddings,
                                                config.hidden_size, padding_idx=self.padding_idx)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                past_key_values_length=0):
        if position_ids is None:
            mask = input_ids.ne(self.padding_idx).int()
            position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        return super().forward(input_ids, token_type_ids, position_ids, inputs_embeds,
                               past_key_values_length)


class RobertaPreTrainedModel(PreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"


class RobertaModel(RobertaPreTrainedModel):
    def __init__(self, config, add_pooling_layer=True):
        super().__init__(config)
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    forward = BertModel.forward


class _StandinTokenizer:
    """MMSA constructs a tokenizer beside the model but never calls it in a forward."""

    @classmethod
    def from_pretrained(cls, name, *args, **kwargs):
        tokenizer = cls()
        tokenizer.name_or_path = name
        return tokenizer


class BertTokenizer(_StandinTokenizer):
    pass


class RobertaTokenizer(_StandinTokenizer):
    pass


__all__ = ["BertConfig", "RobertaConfig", "BertModel", "RobertaModel", "BertPreTrainedModel",
           "PreTrainedModel", "BertTokenizer", "RobertaTokenizer", "ModelOutput",
           "STANDIN_CONFIGS"]
