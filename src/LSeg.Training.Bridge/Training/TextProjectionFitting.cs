using LSeg.MLNet.Text;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Export;
using Onnx;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Fits the text projection of a MiniLM run (<see cref="TrainingConfig.TextProjection"/>): a linear map from
/// all-MiniLM-L6-v2 embeddings to another text space whose embeddings are known for a vocabulary of names, such as the
/// CLIP ViT-B/32 text embeddings of COCO, LVIS and Objects365 class names. The targets are centred on their mean and
/// normalised (CLIP's text embeddings share one large common direction, which a cosine head would otherwise spend its
/// range on); the map is ridge regression with an unpenalised bias. Held-out quality is measured by k-fold over names.
/// </summary>
public static class TextProjectionFitting
{
    /// <summary>
    /// Fits the map on the names of <paramref name="vocabularies"/> (names file, <c>.npy</c> float16 or float32 [names,
    /// C] embeddings, row i for line i; names compare after replacing '_' with ' ', trimming and ignoring case; a name
    /// listed twice keeps its first row) less <paramref name="excludedNames"/>, writes it to <paramref name="outputPath"/>
    /// as an ONNX graph (input <c>text_embeddings</c> [N,384], output <c>label_embeddings</c> [N,C]) and returns the
    /// k-fold measurements.
    /// </summary>
    /// <exception cref="ArgumentException">No vocabulary, a ridge ≤ 0, folds &lt; 2, or fewer names than folds remain.</exception>
    /// <exception cref="InvalidDataException">A names file and its embeddings disagree in count, or the embeddings are not a 2-D float array.</exception>
    public static TextProjectionFitReport Fit(IReadOnlyList<(string NamesFile, string EmbeddingsFile)> vocabularies, IReadOnlyCollection<string> excludedNames,
        string outputPath, double ridge = 0.3, int folds = 5, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(vocabularies);
        ArgumentNullException.ThrowIfNull(excludedNames);
        if (vocabularies.Count == 0)
            throw new ArgumentException("Give at least one vocabulary (names file and its embeddings).", nameof(vocabularies));
        if (!(ridge > 0))
            throw new ArgumentException($"The ridge penalty must be positive; got {ridge}.", nameof(ridge));
        if (folds < 2)
            throw new ArgumentException($"Held-out measurement needs 2 or more folds; got {folds}.", nameof(folds));

        var excluded = excludedNames.Select(Key).ToHashSet();
        var targets = new Dictionary<string, float[]>();
        int skipped = 0;
        foreach (var (namesFile, embeddingsFile) in vocabularies)
        {
            string[] names = [.. File.ReadAllLines(namesFile).Where(line => line.Trim().Length > 0)];
            float[][] rows = NpyMatrix.Read(embeddingsFile);
            if (rows.Length != names.Length)
                throw new InvalidDataException($"'{namesFile}' lists {names.Length} names but '{embeddingsFile}' holds {rows.Length} embeddings; they must pair line by line.");
            for (int i = 0; i < names.Length; i++)
            {
                string key = Key(names[i]);
                if (excluded.Contains(key))
                    skipped++;
                else
                    targets.TryAdd(key, rows[i]);
            }
        }
        if (targets.Count < folds * 2)
            throw new ArgumentException($"Only {targets.Count} names remain after exclusion; the fit needs at least {folds * 2}.", nameof(vocabularies));
        string[] vocabulary = [.. targets.Keys];
        int width = targets.Values.First().Length;
        if (targets.Values.Any(v => v.Length != width))
            throw new InvalidDataException("The vocabularies' embeddings differ in width; give embeddings of one text space.");

        float[][] sources;
        using (var miniLm = MiniLmTextEncoder.Create())
            sources = [.. miniLm.Encode(vocabulary).Select(Normalized)];
        float[][] centred = CentredTargets([.. vocabulary.Select(name => Normalized(targets[name]))]);

        using var scope = NewDisposeScope();
        var x = Rows(sources);
        var y = Rows(centred);
        int[] order = [.. Enumerable.Range(0, vocabulary.Length)];
        new Random(seed).Shuffle(order);
        var heldOut = new HeldOutScores();
        for (int fold = 0; fold < folds; fold++)
        {
            long[] test = [.. order.Where((_, i) => i % folds == fold).Select(i => (long)i)];
            long[] train = [.. order.Where((_, i) => i % folds != fold).Select(i => (long)i)];
            var (w, b) = Solve(x[tensor(train)], y[tensor(train)], ridge);
            heldOut.Add(x[tensor(test)], nn.functional.normalize(x[tensor(test)].matmul(w) + b, dim: 1), y, tensor(test));
        }
        var (weight, bias) = Solve(x, y, ridge);
        Write(weight, bias, outputPath);
        return heldOut.Report(vocabulary.Length, skipped, ridge, folds);
    }

    private static string Key(string name) => name.Replace('_', ' ').Trim().ToLowerInvariant();

    private static float[] Normalized(float[] v)
    {
        double norm = Math.Sqrt(v.Sum(e => (double)e * e));
        return [.. v.Select(e => (float)(e / Math.Max(norm, 1e-12)))];
    }

    private static float[][] CentredTargets(float[][] targets)
    {
        var mean = new double[targets[0].Length];
        foreach (var t in targets)
        {
            for (int j = 0; j < mean.Length; j++)
                mean[j] += t[j] / targets.Length;
        }
        return [.. targets.Select(t => Normalized([.. t.Select((e, j) => (float)(e - mean[j]))]))];
    }

    private static Tensor Rows(float[][] rows)
    {
        var flat = new double[rows.Length * rows[0].Length];
        for (int i = 0; i < rows.Length; i++)
        {
            for (int j = 0; j < rows[i].Length; j++)
                flat[i * rows[i].Length + j] = rows[i][j];
        }
        return tensor(flat, [rows.Length, rows[0].Length], ScalarType.Float64);
    }

    /// <summary>Ridge regression y ≈ x·w + b with the penalty on w only (the bias is the centred targets' offset).</summary>
    private static (Tensor Weight, Tensor Bias) Solve(Tensor x, Tensor y, double ridge)
    {
        var xMean = x.mean([0]);
        var yMean = y.mean([0]);
        var xc = x - xMean;
        var a = xc.t().matmul(xc) + ridge * eye(x.shape[1], dtype: ScalarType.Float64);
        var w = linalg.solve(a, xc.t().matmul(y - yMean));
        return (w, yMean - xMean.matmul(w));
    }

    private static void Write(Tensor weight, Tensor bias, string outputPath)
    {
        var graph = new OnnxGraphBuilder("lseg_text_projection");
        long inputWidth = weight.shape[0], outputWidth = weight.shape[1];
        string input = graph.Input(ProjectedTextEncoder.InputName, TensorProto.Types.DataType.Float, "labels", inputWidth);
        string w = graph.ConstantFloat("weight", weight.to(ScalarType.Float32).data<float>().ToArray(), inputWidth, outputWidth);
        string b = graph.ConstantFloat("bias", bias.to(ScalarType.Float32).data<float>().ToArray(), outputWidth);
        graph.Output(ProjectedTextEncoder.OutputName, graph.Add(graph.MatMul(input, w), b), TensorProto.Types.DataType.Float, "labels", outputWidth);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (folder is not null)
            Directory.CreateDirectory(folder);
        // Atomic: a kill or a full disk mid-write leaves the previous map, not a truncated one.
        var model = graph.BuildModel();
        LSeg.MLNet.IO.AtomicFile.Write(outputPath, temporary => OnnxModelFile.Save(model, temporary, long.MaxValue));
    }

    /// <summary>Accumulates the held-out measurements of the k folds.</summary>
    private sealed class HeldOutScores
    {
        private double _cosine;
        private int _top1, _top5, _count;
        private readonly List<(double Source, double Mapped, double Target)> _pairs = [];

        public void Add(Tensor sources, Tensor predicted, Tensor allTargets, Tensor testRows)
        {
            var targets = allTargets[testRows];
            _cosine += (predicted * targets).sum().item<double>();
            // Read back into managed arrays once: indexing a tensor element by element makes a native tensor per element,
            // and they all live until the fit's dispose scope ends (hundreds of thousands for a vocabulary of 1,384 names).
            const int Ranks = 5;
            long[] ranking = predicted.matmul(allTargets.t()).argsort(dim: 1, descending: true)[.., ..Ranks].contiguous().data<long>().ToArray();
            long[] rows = testRows.data<long>().ToArray();
            int ranks = ranking.Length / Math.Max(1, rows.Length);
            for (int i = 0; i < rows.Length; i++)
            {
                var best = ranking.AsSpan(i * ranks, ranks);
                _top1 += best[0] == rows[i] ? 1 : 0;
                _top5 += best.Contains(rows[i]) ? 1 : 0;
            }
            _count += rows.Length;
            // Pairwise similarities among held-out names: how well each space orders them as the target space does.
            double[] sourceSims = Similarities(sources), mappedSims = Similarities(predicted), targetSims = Similarities(targets);
            for (int i = 0; i < rows.Length; i++)
            {
                for (int j = i + 1; j < rows.Length; j++)
                {
                    int ij = i * rows.Length + j;
                    _pairs.Add((sourceSims[ij], mappedSims[ij], targetSims[ij]));
                }
            }

            static double[] Similarities(Tensor vectors) => vectors.matmul(vectors.t()).to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        }

        public TextProjectionFitReport Report(int names, int excluded, double ridge, int folds) => new(
            names, excluded, ridge, folds, _cosine / _count, (double)_top1 / _count, (double)_top5 / _count,
            Pearson(_pairs.Select(p => p.Source), _pairs.Select(p => p.Target)), Pearson(_pairs.Select(p => p.Mapped), _pairs.Select(p => p.Target)));

        private static double Pearson(IEnumerable<double> first, IEnumerable<double> second)
        {
            double[] a = [.. first], b = [.. second];
            double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
            for (int i = 0; i < a.Length; i++)
            {
                sab += (a[i] - ma) * (b[i] - mb);
                saa += (a[i] - ma) * (a[i] - ma);
                sbb += (b[i] - mb) * (b[i] - mb);
            }
            return sab / Math.Sqrt(saa * sbb);
        }
    }
}

/// <summary>What <see cref="TextProjectionFitting.Fit"/> measured on names held out of the fit (k-fold over names).</summary>
/// <param name="Names">Names the final map was fitted on.</param>
/// <param name="ExcludedNames">Vocabulary entries left out because they were excluded.</param>
/// <param name="Ridge">The ridge penalty.</param>
/// <param name="Folds">Folds of the held-out measurement.</param>
/// <param name="HeldOutCosine">Mean cosine between a held-out name's mapped embedding and its true (centred) target.</param>
/// <param name="HeldOutTop1">Share of held-out names whose mapped embedding is nearest to their own target among all names'.</param>
/// <param name="HeldOutTop5">The same within the five nearest.</param>
/// <param name="SourcePearson">Pearson correlation, over pairs of held-out names, between MiniLM cosines and target cosines.</param>
/// <param name="MappedPearson">The same between mapped cosines and target cosines.</param>
public sealed record TextProjectionFitReport(int Names, int ExcludedNames, double Ridge, int Folds, double HeldOutCosine, double HeldOutTop1, double HeldOutTop5,
    double SourcePearson, double MappedPearson);
