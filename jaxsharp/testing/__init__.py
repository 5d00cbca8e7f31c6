"""Builders of test inputs that tests and experiments share: the bad-input corpus (`bad_inputs`) and a torch-free
look-alike of `torch.save` (`torch_save`). Nothing here imports pytest or torch."""
