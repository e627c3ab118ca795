"""Writes the serving benchmark's model: an LSTM, 2 layers x 128, 8 features, one regression output, as PyTorch saves it.

    make_model.py OUT.pt
"""
import sys

import torch
import torch.nn as nn


class SequenceModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 128, num_layers=2, batch_first=True)
        self.head = nn.Linear(128, 1)


torch.manual_seed(5)
torch.save(SequenceModel().state_dict(), sys.argv[1])
