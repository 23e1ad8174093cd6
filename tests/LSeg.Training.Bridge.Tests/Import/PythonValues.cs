namespace LSeg.Training.Bridge.Tests.Import;

// Python values as the tests describe them before pickling them the way torch.save does.

/// <summary>A Python dict (or, with <see cref="Ordered"/>, a collections.OrderedDict) with keys in insertion order.</summary>
internal sealed class PyDict(bool ordered = false) : List<KeyValuePair<object?, object?>>
{
    public bool Ordered { get; } = ordered;

    public void Add(object? key, object? value) => Add(new KeyValuePair<object?, object?>(key, value));
}

/// <summary>A Python tuple.</summary>
internal sealed record PyTuple(params object?[] Items);

/// <summary>A reference to a Python class or function by module and name (pickle GLOBAL).</summary>
internal sealed record PyGlobal(string Module, string Name);

/// <summary>An instance of a Python class: <c>cls.__new__(cls)</c> then <c>__setstate__(state)</c> (pickle NEWOBJ + BUILD).</summary>
internal sealed record PyInstance(PyGlobal Type, PyDict State);

/// <summary>A call <c>callable(*args)</c> executed by a Python unpickler (pickle REDUCE): how malicious pickles run code.</summary>
internal sealed record PyCall(PyGlobal Callable, PyTuple Arguments);

/// <summary>A tensor to store as torch.save does: a storage file plus _rebuild_tensor_v2(storage, offset, size, stride).</summary>
internal sealed record PyTensor(TorchSharp.torch.Tensor Value);
