namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>Checkpoint structures in the official lang-seg format (PyTorch Lightning 1.4), built around a given state dict.</summary>
internal static class SyntheticCheckpoints
{
    internal static readonly PyGlobal ModelCheckpointClass = new("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint");

    /// <summary>
    /// A dict like Lightning's <c>dump_checkpoint</c>: <c>epoch</c>, <c>global_step</c>, the Lightning version,
    /// <c>state_dict</c>, <c>callbacks</c> (keyed by the callback class, as Lightning 1.4 does, with a
    /// <c>ModelCheckpoint</c> object beside it), <c>optimizer_states</c> (SGD momentum buffers) and <c>lr_schedulers</c>.
    /// </summary>
    internal static PyDict LightningCheckpoint(PyDict stateDict)
    {
        using var momentum = TorchSharp.torch.ones(3);
        var callbackState = new PyDict
        {
            { "monitor", "val_acc_epoch" },
            { "best_model_score", 0.5 },
            { "best_model_path", "checkpoints/result-epoch=199.ckpt" },
        };
        return new PyDict
        {
            { "epoch", 200 },
            { "global_step", 123456 },
            { "pytorch-lightning_version", "1.4.9" },
            { "state_dict", stateDict },
            { "callbacks", new PyDict
                {
                    { ModelCheckpointClass, callbackState },
                    { "instance", new PyInstance(ModelCheckpointClass, new PyDict { { "dirpath", "checkpoints" }, { "save_top_k", 1 } }) },
                }
            },
            { "optimizer_states", new List<object?>
                {
                    new PyDict
                    {
                        { "state", new PyDict { { 0, new PyDict { { "momentum_buffer", new PyTensor(momentum.clone()) } } } } },
                        { "param_groups", new List<object?> { new PyDict { { "lr", 0.004 }, { "momentum", 0.9 }, { "nesterov", false }, { "params", new List<object?> { 0 } } } } },
                    },
                }
            },
            { "lr_schedulers", new List<object?> { new PyDict { { "base_lrs", new List<object?> { 0.004 } }, { "last_epoch", 200 }, { "lr_lambdas", new List<object?> { null } } } } },
            { "native_amp_scaling_state", new PyDict { { "scale", 65536.0 }, { "_growth_tracker", 17 } } },
        };
    }

    internal static PyDict With(this PyDict dict, object? key, object? value)
    {
        dict.Add(key, value);
        return dict;
    }
}
