using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LSeg.MLNet.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer (OpenAI <c>simple_tokenizer.py</c>), built on Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>. It reproduces OpenAI's ids exactly, including the text clean-up (NFC, HTML
/// unescaping, whitespace collapsing, Python-style lower-casing).
/// </summary>
/// <remarks>Instances are immutable and safe to share between threads.</remarks>
public sealed class ClipTokenizer
{
    /// <summary>Number of merges CLIP uses from its BPE file (49,152 − 256 − 2).</summary>
    private const int MergeCount = 49152 - 256 - 2;

    /// <summary>Text length CLIP's text transformer was trained with, start and end tokens included.</summary>
    public const int DefaultContextLength = 77;

    /// <summary>The start token's text.</summary>
    public const string StartToken = "<|startoftext|>";

    /// <summary>The end token's text.</summary>
    public const string EndToken = "<|endoftext|>";

    // OpenAI's pattern, case-insensitive, without a special-token dictionary in the pre-tokenizer.
    private static readonly Regex PreTokenizerPattern = new(
        @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
        RegexOptions.IgnoreCase | RegexOptions.Compiled);

    private readonly BpeTokenizer _bpe;

    private ClipTokenizer(BpeTokenizer bpe, int startTokenId, int endTokenId)
    {
        _bpe = bpe;
        StartTokenId = startTokenId;
        EndTokenId = endTokenId;
    }

    /// <summary>Id of <see cref="StartToken"/> (49,406 with OpenAI's file).</summary>
    public int StartTokenId { get; }

    /// <summary>Id of <see cref="EndToken"/> (49,407 with OpenAI's file).</summary>
    public int EndTokenId { get; }

    /// <summary>Reads CLIP's BPE merges file (<c>bpe_simple_vocab_16e6.txt.gz</c>, gzipped or plain text).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file has fewer merges than CLIP's vocabulary needs, or lines that are not BPE merges.</exception>
    public static ClipTokenizer FromBpeFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"CLIP BPE file '{path}' does not exist.", path);
        using var file = File.OpenRead(path);
        return FromBpeStream(file, path);
    }

    /// <summary>Reads CLIP's BPE merges from a stream (gzipped or plain text); <paramref name="source"/> names it in errors.</summary>
    public static ClipTokenizer FromBpeStream(Stream stream, string source = "BPE stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffered = new MemoryStream();
        stream.CopyTo(buffered);
        buffered.Position = 0;
        bool gzipped = buffered.Length >= 2 && buffered.GetBuffer()[0] == 0x1f && buffered.GetBuffer()[1] == 0x8b;
        using var text = new StreamReader(gzipped ? new GZipStream(buffered, CompressionMode.Decompress) : buffered, Encoding.UTF8);

        text.ReadLine(); // version header
        var merges = new List<string>(MergeCount);
        while (merges.Count < MergeCount && text.ReadLine() is { } line)
        {
            if (line.Length > 0)
                merges.Add(line);
        }
        if (merges.Count < MergeCount)
            throw new InvalidDataException($"'{source}' has {merges.Count} BPE merges; CLIP's vocabulary needs {MergeCount}.");

        // Vocabulary order of OpenAI's tokenizer: the 256 byte symbols, the same with </w>, one token per merge, specials.
        var byteSymbols = ByteSymbols();
        var vocabulary = new List<KeyValuePair<string, int>>(MergeCount + 514);
        foreach (string symbol in byteSymbols)
            vocabulary.Add(new(symbol, vocabulary.Count));
        foreach (string symbol in byteSymbols)
            vocabulary.Add(new(symbol + "</w>", vocabulary.Count));
        // A merges file is learned in order: each line joins two symbols that already exist (bytes or earlier merges).
        // Checking that catches a file of the right length that is not BPE merges, rather than tokenizing with it.
        var known = new HashSet<string>(vocabulary.Select(entry => entry.Key), StringComparer.Ordinal);
        for (int i = 0; i < merges.Count; i++)
        {
            string merge = merges[i];
            int space = merge.IndexOf(' ');
            if (space <= 0)
                throw new InvalidDataException($"'{source}' has a malformed merge line '{merge}' (expected two symbols separated by a space).");
            if (!known.Contains(merge[..space]) || !known.Contains(merge[(space + 1)..]))
                throw new InvalidDataException($"'{source}' is not a BPE merges file: merge {i + 1}, '{merge}', joins a symbol that neither the bytes nor an earlier merge made.");
            string token = merge.Remove(space, 1);
            known.Add(token);
            vocabulary.Add(new(token, vocabulary.Count));
        }
        int start = vocabulary.Count, end = vocabulary.Count + 1;
        vocabulary.Add(new(StartToken, start));
        vocabulary.Add(new(EndToken, end));

        var bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            SpecialTokens = new Dictionary<string, int> { [StartToken] = start, [EndToken] = end },
            Normalizer = new ClipTextNormalizer(),
            PreTokenizer = new RegexPreTokenizer(PreTokenizerPattern, null),
            ByteLevel = true,
            EndOfWordSuffix = "</w>",
        });
        return new ClipTokenizer(bpe, start, end);
    }

    /// <summary>The ids of <paramref name="text"/>: start token, the BPE tokens, end token; no padding, no length limit.</summary>
    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var content = _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true);
        var ids = new List<int>(content.Count + 2) { StartTokenId };
        ids.AddRange(content);
        ids.Add(EndTokenId);
        return ids;
    }

    /// <summary>
    /// The ids of <paramref name="text"/> in a fixed context of <paramref name="contextLength"/> tokens, padded with
    /// zeros as CLIP does. A text too long for the context is an error that names it, unless
    /// <paramref name="truncate"/> is set: then it keeps the first tokens and ends with the end token (CLIP's
    /// <c>truncate=True</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The text needs more than <paramref name="contextLength"/> tokens and <paramref name="truncate"/> is false.</exception>
    public int[] EncodeToContext(string text, int contextLength = DefaultContextLength, bool truncate = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var ids = EncodeToIds(text);
        if (ids.Count > contextLength && !truncate)
            throw new ArgumentException(
                $"Label {QuotedLabel.Of(text)} has {ids.Count} CLIP tokens (start and end included); the text encoder's context holds {contextLength}. Shorten the label or ask for truncation.",
                nameof(text));
        var context = new int[contextLength];
        int count = Math.Min(ids.Count, contextLength);
        for (int i = 0; i < count; i++)
            context[i] = ids[i];
        context[count - 1] = EndTokenId;
        return context;
    }

    // GPT-2 / CLIP bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards, in this order.
    private static List<string> ByteSymbols()
    {
        var printable = new List<int>();
        for (int b = '!'; b <= '~'; b++) printable.Add(b);
        for (int b = '¡'; b <= '¬'; b++) printable.Add(b);
        for (int b = '®'; b <= 'ÿ'; b++) printable.Add(b);
        var symbols = printable.Select(b => ((char)b).ToString()).ToList();
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!printable.Contains(b))
                symbols.Add(((char)(256 + extra++)).ToString());
        }
        return symbols;
    }
}
