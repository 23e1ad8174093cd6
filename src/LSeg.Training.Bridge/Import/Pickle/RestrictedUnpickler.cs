using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace LSeg.Training.Bridge.Import.Pickle;

/// <summary>
/// Reads a Python pickle (protocols 0 to 5, as <c>torch.save</c> writes them) into inert values: null, bool, long,
/// <see cref="BigInteger"/>, double, string, byte[], tuples (object?[]), lists, <see cref="PickleDict"/>,
/// <see cref="PickleObject"/>, <see cref="PickleGlobal"/> and whatever the allow-list's functions and the
/// persistent-id loader return. Every global is checked against the <see cref="PickleAllowList"/> the moment the pickle
/// names it; calls are interpreted from that list, never dispatched to code named by the file.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private readonly PickleAllowList _allowList;
    private readonly Func<object?, object?> _persistentLoad;
    private readonly string _source;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];

    /// <param name="allowList">The globals the pickle may name.</param>
    /// <param name="persistentLoad">Resolves a persistent id (torch: a storage reference tuple).</param>
    /// <param name="source">How error messages name the pickle (file and entry).</param>
    public RestrictedUnpickler(PickleAllowList allowList, Func<object?, object?> persistentLoad, string source)
    {
        _allowList = allowList;
        _persistentLoad = persistentLoad;
        _source = source;
    }

    /// <summary>Reads one pickle up to its STOP opcode.</summary>
    /// <exception cref="UnsafeCheckpointException">The pickle names a global that is not allowed.</exception>
    /// <exception cref="InvalidDataException">The data is not a pickle this reader understands, or it ends early.</exception>
    public object? Load(Stream stream)
    {
        var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            while (true)
            {
                int opcode = stream.ReadByte();
                if (opcode < 0)
                    throw new EndOfStreamException();
                if (opcode == '.')
                    return Pop();
                Execute((byte)opcode, reader);
            }
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{_source} ends in the middle of its pickle: the file is truncated or damaged.");
        }
        catch (InvalidCastException e)
        {
            throw new InvalidDataException($"{_source} has a malformed pickle ({e.Message}).", e);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or FormatException or OverflowException)
        {
            // Out-of-range indices, and text numbers (INT, LONG, FLOAT, PUT, GET) that are not numbers or do not fit.
            throw new InvalidDataException($"{_source} has a malformed pickle ({e.Message}).", e);
        }
    }

    private void Execute(byte opcode, BinaryReader reader)
    {
        switch (opcode)
        {
            case 0x80: reader.ReadByte(); break;                              // PROTO
            case 0x95: reader.ReadInt64(); break;                             // FRAME (a framing hint)
            case (byte)'(': _marks.Push(_stack.Count); break;                 // MARK
            case (byte)'0': Pop(); break;                                     // POP
            case (byte)'1': PopMark(); break;                                 // POP_MARK
            case (byte)'2': Push(Peek()); break;                              // DUP
            case (byte)'N': Push(null); break;                                // NONE
            case 0x88: Push(true); break;                                     // NEWTRUE
            case 0x89: Push(false); break;                                    // NEWFALSE
            case (byte)'J': Push((long)reader.ReadInt32()); break;            // BININT
            case (byte)'K': Push((long)reader.ReadByte()); break;             // BININT1
            case (byte)'M': Push((long)reader.ReadUInt16()); break;           // BININT2
            case 0x8a: Push(ReadLong(reader, reader.ReadByte())); break;      // LONG1
            case 0x8b: Push(ReadLong(reader, CheckedLength(reader.ReadInt32()))); break; // LONG4
            case (byte)'I': Push(ParseTextInt(ReadLine(reader))); break;      // INT
            case (byte)'L': Push(ParseTextInt(ReadLine(reader).TrimEnd('L'))); break; // LONG
            case (byte)'F': Push(double.Parse(ReadLine(reader), System.Globalization.CultureInfo.InvariantCulture)); break; // FLOAT
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadExactly(reader, 8))); break; // BINFLOAT
            case (byte)'X': Push(Encoding.UTF8.GetString(ReadExactly(reader, CheckedLength(reader.ReadUInt32())))); break; // BINUNICODE
            case 0x8c: Push(Encoding.UTF8.GetString(ReadExactly(reader, reader.ReadByte()))); break; // SHORT_BINUNICODE
            case 0x8d: Push(Encoding.UTF8.GetString(ReadExactly(reader, CheckedLength(reader.ReadInt64())))); break; // BINUNICODE8
            case (byte)'T': Push(Encoding.Latin1.GetString(ReadExactly(reader, CheckedLength(reader.ReadInt32())))); break; // BINSTRING
            case (byte)'U': Push(Encoding.Latin1.GetString(ReadExactly(reader, reader.ReadByte()))); break; // SHORT_BINSTRING
            case (byte)'B': Push(ReadExactly(reader, CheckedLength(reader.ReadUInt32()))); break; // BINBYTES
            case (byte)'C': Push(ReadExactly(reader, reader.ReadByte())); break; // SHORT_BINBYTES
            case 0x8e: Push(ReadExactly(reader, CheckedLength(reader.ReadInt64()))); break; // BINBYTES8
            case 0x96: Push(ReadExactly(reader, CheckedLength(reader.ReadInt64()))); break; // BYTEARRAY8
            case (byte)')': Push(Array.Empty<object?>()); break;              // EMPTY_TUPLE
            case (byte)'t': Push(PopMark().ToArray()); break;                 // TUPLE
            case 0x85: Push(PopItems(1)); break;                              // TUPLE1
            case 0x86: Push(PopItems(2)); break;                              // TUPLE2
            case 0x87: Push(PopItems(3)); break;                              // TUPLE3
            case (byte)']': Push(new List<object?>()); break;                 // EMPTY_LIST
            case (byte)'l': Push(PopMark()); break;                           // LIST
            case (byte)'a': Append(Pop()); break;                             // APPEND
            case (byte)'e': foreach (var item in PopMark()) Append(item); break; // APPENDS
            case (byte)'}': Push(new PickleDict()); break;                    // EMPTY_DICT
            case (byte)'d': Push(ToDict(PopMark())); break;                   // DICT
            case (byte)'s': { var value = Pop(); var key = Pop(); AsDict(Peek(), "SETITEM").Set(key, value); break; } // SETITEM
            case (byte)'u': SetItems(PopMark()); break;                       // SETITEMS
            case 0x8f: Push(new List<object?>()); break;                      // EMPTY_SET (kept as a list)
            case 0x90: { var items = PopMark(); AsList(Peek(), "ADDITEMS").AddRange(items); break; } // ADDITEMS
            case 0x91: Push(PopMark()); break;                                // FROZENSET
            case (byte)'c': Push(Global(ReadLine(reader), ReadLine(reader))); break; // GLOBAL
            case 0x93: { var name = Pop(); var module = Pop(); Push(Global(AsString(module), AsString(name))); break; } // STACK_GLOBAL
            case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Call(callable, AsArguments(args))); break; } // REDUCE
            case 0x81: { var args = Pop(); var type = Pop(); Push(Call(type, AsArguments(args))); break; } // NEWOBJ
            case 0x92: { Pop(); var args = Pop(); var type = Pop(); Push(Call(type, AsArguments(args))); break; } // NEWOBJ_EX (kwargs ignored)
            case (byte)'b': { var state = Pop(); Build(Peek(), state); break; } // BUILD
            case (byte)'Q': Push(_persistentLoad(Pop())); break;              // BINPERSID
            case (byte)'P': Push(_persistentLoad(ReadLine(reader))); break;   // PERSID
            case (byte)'q': _memo[reader.ReadByte()] = Peek(); break;         // BINPUT
            case (byte)'r': _memo[reader.ReadUInt32()] = Peek(); break;       // LONG_BINPUT
            case (byte)'p': _memo[long.Parse(ReadLine(reader))] = Peek(); break; // PUT
            case 0x94: _memo[_memo.Count] = Peek(); break;                    // MEMOIZE
            case (byte)'h': Push(Memo(reader.ReadByte())); break;             // BINGET
            case (byte)'j': Push(Memo(reader.ReadUInt32())); break;           // LONG_BINGET
            case (byte)'g': Push(Memo(long.Parse(ReadLine(reader)))); break;  // GET
            case (byte)'i':                                                   // INST: class instantiation by name
            {
                var type = Global(ReadLine(reader), ReadLine(reader));
                Push(Call(type, PopMark().ToArray()));
                break;
            }
            case (byte)'o':                                                   // OBJ
            {
                var items = PopMark();
                if (items.Count == 0) throw new InvalidDataException($"{_source} has an OBJ opcode without a class.");
                Push(Call(items[0], items.Skip(1).ToArray()));
                break;
            }
            case 0x82:
            case 0x83:
            case 0x84:                                                        // EXT1/2/4: the copyreg extension registry
                throw new UnsafeCheckpointException("copyreg extension", $"{_source} refers to a global through the copyreg extension registry (opcode 0x{opcode:x2}), which the importer does not allow.");
            default:
                throw new InvalidDataException($"{_source} is not a pickle this importer reads: unknown opcode 0x{opcode:x2}.");
        }
    }

    private PickleGlobal Global(string module, string name)
    {
        var global = new PickleGlobal(module, name);
        if (!_allowList.TryGetKind(global.FullName, out _))
            throw new UnsafeCheckpointException(global.FullName,
                $"{_source} refers to the Python global '{global.FullName}', which the importer does not allow. " +
                "A checkpoint may contain only tensors, storages, dicts, lists and a few inert Lightning/argparse/pathlib classes; " +
                "nothing in the file was executed. If the class is plain data, list it as an additional inert class.");
        return global;
    }

    private object? Call(object? callable, IReadOnlyList<object?> arguments)
    {
        if (callable is not PickleGlobal global)
            throw new InvalidDataException($"{_source} calls a {callable?.GetType().Name ?? "None"}, not a class or function.");
        _allowList.TryGetKind(global.FullName, out var kind);
        return kind switch
        {
            AllowedGlobalKind.Dictionary => new PickleDict(),
            AllowedGlobalKind.InertClass => new PickleObject(global, arguments),
            AllowedGlobalKind.Function => _allowList.Function(global.FullName)(arguments),
            _ => throw new UnsafeCheckpointException(global.FullName, $"{_source} calls '{global.FullName}', which the importer allows only as a reference, never as a call."),
        };
    }

    private static void Build(object? target, object? state)
    {
        switch (target)
        {
            case PickleObject obj: obj.State = state; break;
            case PickleDict dict: dict.Attributes = state; break;   // OrderedDict's __dict__ (e.g. torch's _metadata)
            default: break;                                          // tensors (_rebuild_tensor_v2 results) ignore state
        }
    }

    private void SetItems(List<object?> items)
    {
        var dict = AsDict(Peek(), "SETITEMS");
        if (items.Count % 2 != 0)
            throw new InvalidDataException($"{_source} has a SETITEMS with an odd number of items.");
        for (int i = 0; i < items.Count; i += 2)
            dict.Set(items[i], items[i + 1]);
    }

    private PickleDict ToDict(List<object?> items)
    {
        var dict = new PickleDict();
        _stack.Add(dict);
        SetItems(items);
        _stack.RemoveAt(_stack.Count - 1);
        return dict;
    }

    private void Append(object? item) => AsList(Peek(), "APPEND").Add(item);

    private PickleDict AsDict(object? value, string opcode)
        => value as PickleDict ?? throw new InvalidDataException($"{_source} applies {opcode} to a {value?.GetType().Name ?? "None"}, not a dict.");

    private List<object?> AsList(object? value, string opcode)
        => value as List<object?> ?? throw new InvalidDataException($"{_source} applies {opcode} to a {value?.GetType().Name ?? "None"}, not a list.");

    private string AsString(object? value)
        => value as string ?? throw new InvalidDataException($"{_source} names a global with a {value?.GetType().Name ?? "None"}, not a string.");

    private IReadOnlyList<object?> AsArguments(object? value)
        => value as object?[] ?? throw new InvalidDataException($"{_source} passes {value?.GetType().Name ?? "None"} as call arguments; expected a tuple.");

    private object? Memo(long index)
        => _memo.TryGetValue(index, out var value) ? value : throw new InvalidDataException($"{_source} refers to memo entry {index}, which was never stored.");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek()
        => _stack.Count > 0 ? _stack[^1] : throw new InvalidDataException($"{_source} reads from an empty pickle stack.");

    private object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopItems(int count)
    {
        if (_stack.Count < count)
            throw new InvalidDataException($"{_source} builds a tuple from an empty pickle stack.");
        var items = _stack.GetRange(_stack.Count - count, count).ToArray();
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0)
            throw new InvalidDataException($"{_source} closes a MARK that was never opened.");
        int start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private static object ReadLong(BinaryReader reader, int length)
    {
        var value = new BigInteger(ReadExactly(reader, length), isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private static object ParseTextInt(string text) => text switch
    {
        "00" => false,
        "01" => true,
        _ => long.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
    };

    private int CheckedLength(long length)
        => length is >= 0 and <= int.MaxValue ? (int)length : throw new InvalidDataException($"{_source} declares a pickled item of {length} bytes.");

    /// <summary>
    /// <paramref name="count"/> bytes, or <see cref="EndOfStreamException"/>. The count comes from the file: a large one is
    /// read a chunk at a time, so that a few bytes declaring a 2 GB item end as a truncated file, not a 2 GB allocation.
    /// </summary>
    private static byte[] ReadExactly(BinaryReader reader, int count)
    {
        const int Chunk = 1 << 20;
        if (count <= Chunk)
        {
            byte[] small = reader.ReadBytes(count);
            return small.Length == count ? small : throw new EndOfStreamException();
        }
        if (reader.BaseStream.CanSeek && count > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new EndOfStreamException();
        using var buffer = new MemoryStream();
        while (buffer.Length < count)
        {
            byte[] part = reader.ReadBytes((int)Math.Min(Chunk, count - buffer.Length));
            if (part.Length == 0)
                throw new EndOfStreamException();
            buffer.Write(part);
        }
        return buffer.ToArray();
    }

    private static string ReadLine(BinaryReader reader)
    {
        var builder = new StringBuilder();
        while (true)
        {
            byte b = reader.ReadByte();
            if (b == '\n')
                return builder.ToString();
            if (builder.Length > 4096)
                throw new InvalidDataException("A pickle text line is longer than 4096 characters.");
            builder.Append((char)b);
        }
    }
}
