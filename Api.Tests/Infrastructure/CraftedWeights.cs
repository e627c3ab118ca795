namespace RnnService.Api.Tests.Infrastructure;

/// <summary>Weights files made by PyTorch (or by hand with its pickler) whose shapes claim far more than they store.</summary>
public static class CraftedWeights
{
    /// <summary>
    /// A file of a few KB that torch.save writes for an LSTM's keys, each tensor one stored float viewed with zero strides
    /// (torch.save keeps views so): rnn weights of 160,000 × 40,000 and a head of 1 × 40,000, 12.8 billion values in all.
    /// </summary>
    public static byte[] ExpandedLstm()
    {
        var path = Path.Combine(Path.GetTempPath(), $"expanded-{Guid.NewGuid():N}.pt");
        try
        {
            PyTorch.RunCode("""
                import sys, torch
                one = torch.zeros(1)
                torch.save({"rnn.weight_ih_l0": one.expand(160000, 40000), "rnn.weight_hh_l0": one.expand(160000, 40000),
                            "head.weight": one.expand(1, 40000)}, sys.argv[1])
                """, path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A state_dict file with one tensor, 'huge', of the given shape and strides (Python expressions) over a one-float
    /// storage: PyTorch's own pickler and rebuild function, with sizes PyTorch itself would never make.
    /// </summary>
    public static string Pickled(string shape, string strides)
    {
        var path = Path.Combine(Path.GetTempPath(), $"crafted-{Guid.NewGuid():N}.pt");
        PyTorch.RunCode($$"""
            import collections, io, pickle, sys, zipfile, torch

            class Storage:
                pass

            class Tensor:
                def __reduce__(self):
                    return (torch._utils._rebuild_tensor_v2, (Storage(), 0, tuple({{shape}}), tuple({{strides}}), False, collections.OrderedDict()))

            class Writer(pickle.Pickler):
                def persistent_id(self, obj):
                    return ("storage", torch.FloatStorage, "0", "cpu", 1) if isinstance(obj, Storage) else None

            data = io.BytesIO()
            Writer(data, protocol=2).dump(collections.OrderedDict([("huge", Tensor())]))
            with zipfile.ZipFile(sys.argv[1], "w") as archive:
                archive.writestr("archive/data.pkl", data.getvalue())
                archive.writestr("archive/byteorder", "little")
                archive.writestr("archive/data/0", b"\0\0\0\0")
                archive.writestr("archive/version", "3\n")
            """, path);
        return path;
    }
}
