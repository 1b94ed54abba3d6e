from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.conftest import SHARED_WEIGHTS, require
from thumbs.core import norms
from thumbs.core.errors import ThumbsError
from thumbs.training import models


@pytest.mark.parametrize("arch", list(models.ARCHS))
def test_head_replaced_and_backbone_frozen(arch):
    torch.manual_seed(0)
    model, norm = models.build(arch, 3, weights="none", log=lambda m: None)
    assert norm == "imagenet"
    x = torch.rand(2, 3, 64, 64)
    assert model.eval()(x).shape == (2, 3)
    models.set_backbone_frozen(model, arch, frozen=True)
    head = models.head_parameters(model, arch)
    head_ids = {id(p) for p in head}
    assert all(p.requires_grad == (id(p) in head_ids) for p in model.parameters())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    models.backbone_train_mode(model, arch, frozen=True)
    loss = nn.functional.cross_entropy(model(x), torch.tensor([0, 2]))
    loss.backward()
    assert all(p.grad is None for p in model.parameters() if id(p) not in head_ids)
    opt.step()
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p.detach())
        assert changed == (id(p) in head_ids), name
    models.set_backbone_frozen(model, arch, frozen=False)
    assert all(p.requires_grad for p in model.parameters())


def test_state_dict_file_loads_and_head_keys_are_ignored(tmp_path):
    source = models.ARCHS["resnet18"].build(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    messages = []
    model, _ = models.build("resnet18", 2, weights=str(path), log=messages.append)
    assert torch.equal(model.net.conv1.weight, source.conv1.weight)
    assert model.net.fc.out_features == 2
    assert "ignored 2 head tensors" in messages[0]


def test_weights_for_another_architecture_are_refused(tmp_path):
    path = tmp_path / "alexnet.pth"
    torch.save(models.ARCHS["alexnet"].build(weights=None).state_dict(), path)
    with pytest.raises(ThumbsError, match="does not fit resnet18"):
        models.build("resnet18", 2, weights=str(path), log=lambda m: None)
    (tmp_path / "junk.pth").write_bytes(b"not torch")
    with pytest.raises(ThumbsError, match="is not a PyTorch state dict"):
        models.build("resnet18", 2, weights=str(tmp_path / "junk.pth"))
    with pytest.raises(ThumbsError, match="does not exist"):
        models.build("resnet18", 2, weights=str(tmp_path / "missing.pth"))


def test_no_torchvision_download_for_width_035():
    with pytest.raises(ThumbsError, match="no ImageNet download for mobilenet_v2_x0_35"):
        models.build("mobilenet_v2_x0_35", 2, weights="imagenet")


def test_offline_imagenet_download_says_how_to_place_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(ThumbsError, match=r"could not download ImageNet weights for squeezenet1_1.*copy it to"):
        models.build("squeezenet1_1", 2, weights="imagenet")


def test_shared_backbone_loads_every_tensor():
    require(SHARED_WEIGHTS)
    messages = []
    model, norm = models.build("mobilenet_v2_x0_35", 3, weights=str(SHARED_WEIGHTS), norm="inception",
                               log=messages.append)
    assert norm == "inception" and "loaded 260 backbone tensors" in messages[0]
    assert model.net.classifier[1].out_features == 3


def _file(tmp_path, name, content) -> str:
    torch.save(content, tmp_path / name)
    return str(tmp_path / name)


def test_weights_file_carries_its_normalisation_and_norm_overrides(tmp_path):
    state = models.ARCHS["resnet18"].build(weights=None).state_dict()
    quiet = {"log": lambda m: None}
    named = _file(tmp_path, "named.pth", {"state_dict": state, "norm": "inception"})
    assert models.build("resnet18", 2, weights=named, **quiet)[1] == "inception"
    assert models.build("resnet18", 2, weights=named, norm="imagenet", **quiet)[1] == "imagenet"
    explicit = _file(tmp_path, "explicit.pth", {"state_dict": state, "norm": {"mean": [0.5] * 3, "std": [0.5] * 3}})
    assert models.build("resnet18", 2, weights=explicit, **quiet)[1] == "inception"
    custom = _file(tmp_path, "custom.pth", {"state_dict": state, "mean": [0.4, 0.4, 0.4], "std": [0.2, 0.2, 0.2]})
    model, norm = models.build("resnet18", 2, weights=custom, **quiet)
    assert norm == "mean=0.4,0.4,0.4;std=0.2,0.2,0.2" and norms.norm_values(norm) == ((0.4,) * 3, (0.2,) * 3)
    assert torch.allclose(model.std.flatten(), torch.tensor([0.2] * 3))
    plain = _file(tmp_path, "plain.pth", state)
    assert models.build("resnet18", 2, weights=plain, **quiet)[1] == "imagenet"
    bad = _file(tmp_path, "bad.pth", {"state_dict": state, "norm": "sepia"})
    with pytest.raises(ThumbsError, match="unknown normalisation 'sepia'"):
        models.build("resnet18", 2, weights=bad, **quiet)


def test_a_thumbs_checkpoint_is_accepted_as_weights(tmp_path):
    from thumbs.training import checkpoint

    trained, _ = models.build("mobilenet_v3_small", 3, weights="none", norm="inception", log=lambda m: None)
    path = checkpoint.save(tmp_path / "best.pt", trained, arch="mobilenet_v3_small", classes=["a", "b", "c"],
                           img_size=64, norm="inception", settings={}, metrics={}, history=[], epoch=0, stage="full")
    messages = []
    model, norm = models.build("mobilenet_v3_small", 5, weights=str(path), log=messages.append)
    assert norm == "inception" and "is a thumbs checkpoint" in messages[0]
    assert torch.equal(model.net.features[0][0].weight, trained.net.features[0][0].weight)
    assert model.net.classifier[3].out_features == 5
    with pytest.raises(ThumbsError, match="is a thumbs checkpoint of mobilenet_v3_small, not resnet18"):
        models.build("resnet18", 2, weights=str(path), log=lambda m: None)


def test_flip_average_is_the_mean_of_a_frame_and_its_mirror_and_cannot_tell_them_apart():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 48 * 48, 3)).eval()
    averaged = models.FlipAverage(model).eval()
    x = torch.rand(2, 3, 48, 48)
    with torch.no_grad():
        expected = (model(x).softmax(1) + model(x.flip(3)).softmax(1)) / 2
        out = averaged(x)
        assert torch.allclose(out.exp(), expected, atol=1e-6)
        assert torch.allclose(out.softmax(1), expected, atol=1e-6)  # a softmax after it keeps the mean
        assert torch.allclose(averaged(x.flip(3)), out, atol=1e-5)
        assert not torch.allclose(model(x.flip(3)).softmax(1), model(x).softmax(1), atol=1e-3)  # the net alone can


def test_flip_average_of_a_confidently_wrong_model_stays_a_finite_log_probability():
    """Early in training from scratch a class's probability can fall below float32's smallest; the average of a
    frame and its mirror is then still a finite log-probability, so the loss does not read as diverged."""

    class Sure(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tensor([[300.0, 0.0, -300.0]]).expand(len(x), 3) * (1 + x.mean())

    out = models.FlipAverage(Sure())(torch.rand(2, 3, 8, 8))
    assert torch.isfinite(out).all() and (out[:, 2] < -300).all()
    assert torch.allclose(out.softmax(1), out.exp(), atol=1e-6)  # still log-probabilities
    loss = torch.nn.functional.nll_loss(out, torch.tensor([2, 2]))
    assert torch.isfinite(loss) and loss > 300


def test_the_training_layout_is_channels_last_where_it_measured_faster():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert models.memory_format("mobilenet_v2_x0_35", 32, cpu) == torch.channels_last
    assert models.memory_format("squeezenet1_1", 224, cpu) == torch.channels_last
    assert models.memory_format("resnet18", 48, cpu) == torch.contiguous_format  # 0.93x at 40-64 px
    assert models.memory_format("resnet18", 224, cpu) == torch.channels_last
    assert models.memory_format("alexnet", 224, cpu) == torch.contiguous_format
    assert models.memory_format("alexnet", 64, gpu) == torch.channels_last  # tensor cores, every network


def test_the_settings_name_every_architecture_the_trainer_builds():
    """train_config.ARCH_NAMES refuses --arch before PyTorch loads; models.KNOWN builds them: one list."""
    from thumbs.train_config import ARCH_NAMES

    assert tuple(models.KNOWN) == ARCH_NAMES
