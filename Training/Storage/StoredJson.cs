using System.Text.Json;
using System.Text.Json.Serialization;

namespace RnnService.Training.Storage;

/// <summary>How JSON columns and checkpoint state are written: the public API's own conventions (camelCase, enums as camelCase strings).</summary>
public static class StoredJson
{
    /// <summary>
    /// The store's and the API's JSON options, read-only from the start with their reflection resolver, so that contract
    /// metadata (<c>GetTypeInfo</c>, which strict reading walks) is there before anything has been serialised.
    /// </summary>
    public static readonly JsonSerializerOptions Options = ReadOnly(Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web)));

    /// <summary>
    /// The same conventions for request bodies, where a member the contract does not have, in any other case than its
    /// own, is an error: the serializer stops at it, so a valid body is tokenised once, and only a failed one is walked
    /// again to name its unknown fields (<c>StrictJson</c>). Stored JSON keeps <see cref="Options"/>, which skips
    /// members it does not know: what an older or newer version wrote still reads.
    /// </summary>
    public static readonly JsonSerializerOptions RequestOptions = ReadOnly(new JsonSerializerOptions(Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        PropertyNameCaseInsensitive = false,
    });

    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>How enum values are written: <c>oneStandardError</c> for <c>OneStandardError</c> (read in any case).</summary>
    private static JsonNamingPolicy EnumNaming => JsonNamingPolicy.CamelCase; // a property: the options above are built first

    /// <summary>An enum's values as JSON spells them.</summary>
    public static IReadOnlyList<string> EnumNames(Type type) => Enum.GetNames(type).Select(EnumNaming.ConvertName).ToList();

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter(EnumNaming));
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        return options;
    }

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static byte[] Bytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    public static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new JsonException($"stored JSON for {typeof(T).Name} is null");
}

public static class Ids
{
    /// <summary>An opaque identifier: a prefix and 16 random hex digits (<c>ds_3f9a0c…</c>); safe in file names.</summary>
    public static string New(string prefix) =>
        prefix + "_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
}
