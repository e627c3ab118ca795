using System.ComponentModel;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using RnnService.Domain.Validation;
using RnnService.Training.Storage;

namespace RnnService.Api.Infrastructure;

/// <summary>One page of a list, newest first; <c>next</c> is the cursor of the page after it, null on the last.</summary>
public sealed record Page<T>(
    IReadOnlyList<T> Items,
    [property: Description("Pass as `cursor` for the next page; null when this is the last.")]
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)]
    string? Next)
{
    public Page<TOther> Select<TOther>(Func<T, TOther> map) => new(Items.Select(map).ToList(), Next);
}

/// <summary>
/// Where a page ended: the creation time and id of its last item. The next page is what comes after it in the order
/// (created, id) descending, so items added meanwhile (newer) never shift the pages still to come, and no item appears
/// twice or is skipped. Opaque to clients (base64url).
/// </summary>
public readonly record struct Cursor(DateTime CreatedAt, string Id)
{
    public string Encode() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{CreatedAt.Ticks.ToString(CultureInfo.InvariantCulture)}|{Id}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static Cursor? Decode(string text)
    {
        try
        {
            var base64 = text.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - base64.Length % 4) % 4);
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(base64)).Split('|', 2);
            if (parts.Length != 2 || parts[1].Length == 0 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks > DateTime.MaxValue.Ticks)
                return null;
            return new Cursor(new DateTime(ticks, DateTimeKind.Utc), parts[1]);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

public static class Pagination
{
    public const int DefaultLimit = 100, MaxLimit = 1000;

    public const string LimitDescription = "At most this many items (1 to 1000, default 100).";

    public const string CursorDescription = "The `next` of the page before; absent for the first page.";

    /// <summary>The problems with a page's <paramref name="limit"/> and <paramref name="cursor"/>; <paramref name="after"/> is where it starts.</summary>
    public static List<ValidationError> Check(int limit, string? cursor, out Cursor? after)
    {
        var errors = new List<ValidationError>();
        if (limit is < 1 or > MaxLimit) errors.Add(new("limit", $"must be between 1 and {MaxLimit}, got {limit}."));
        after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            after = Cursor.Decode(cursor);
            if (after is null) errors.Add(new("cursor", "is not a cursor this API gave; pass the `next` of a page as it came."));
        }
        return errors;
    }

    /// <summary>The page of <paramref name="query"/>'s records after <paramref name="after"/>, newest first, read in one query.</summary>
    public static async Task<Page<T>> PageAsync<T>(IQueryable<T> query, int limit, Cursor? after, CancellationToken cancellationToken)
        where T : class, IListedRecord
    {
        if (after is { } c) query = query.Where(r => r.CreatedAt < c.CreatedAt || r.CreatedAt == c.CreatedAt && string.Compare(r.Id, c.Id) < 0);
        var rows = await query.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).Take(limit + 1).ToListAsync(cancellationToken);
        return Of(rows, limit, r => new Cursor(r.CreatedAt, r.Id), r => r);
    }

    /// <summary>
    /// The page made of <paramref name="rows"/>, which were read as up to <paramref name="limit"/> + 1 rows in the page's
    /// order: the extra one only says whether a next page exists.
    /// </summary>
    public static Page<TItem> Of<TRow, TItem>(IReadOnlyList<TRow> rows, int limit, Func<TRow, Cursor> position, Func<TRow, TItem> item)
    {
        var items = rows.Take(limit).ToList();
        var next = rows.Count > limit ? position(items[^1]).Encode() : null;
        return new Page<TItem>(items.Select(item).ToList(), next);
    }
}
