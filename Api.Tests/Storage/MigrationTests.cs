using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using RnnService.Training.Storage;

namespace RnnService.Api.Tests.Storage;

/// <summary>The hand-written migrations must build exactly the schema that the EF model describes.</summary>
public sealed class MigrationTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("rnnservice-migrations-").FullName;

    [Fact]
    public async Task MigratingGivesTheSchemaTheModelWouldCreate()
    {
        var migrated = await SchemaAsync("migrated.db", database => database.MigrateAsync());
        var created = await SchemaAsync("created.db", async database => await database.EnsureCreatedAsync());

        Assert.Equal(created, migrated);
        Assert.Contains("table model_versions: ", migrated);
        Assert.Contains("index IX_model_versions_SourceJobId unique (SourceJobId)", migrated);
    }

    [Fact]
    public async Task MigratingTwiceChangesNothing()
    {
        var once = await SchemaAsync("twice.db", database => database.MigrateAsync());
        var twice = await SchemaAsync("twice.db", database => database.MigrateAsync());

        Assert.Equal(once, twice);
    }

    /// <summary>Tables with their columns (name, type, nullability, key) and indexes (uniqueness, columns), as text.</summary>
    private async Task<string> SchemaAsync(string file, Func<Microsoft.EntityFrameworkCore.Infrastructure.DatabaseFacade, Task> build)
    {
        var connection = $"Data Source={Path.Combine(directory, file)};Pooling=False";
        var options = new DbContextOptionsBuilder<RnnDbContext>().UseSqlite(connection)
            .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning))
            .Options;
        await using (var context = new RnnDbContext(options)) await build(context.Database);

        await using var sqlite = new SqliteConnection(connection);
        await sqlite.OpenAsync();
        var lines = new List<string>();
        foreach (var table in await QueryAsync(sqlite, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__EFMigrations%' ORDER BY name"))
        {
            var columns = await QueryAsync(sqlite, $"SELECT name || ' ' || type || (CASE \"notnull\" WHEN 1 THEN ' not null' ELSE '' END) || (CASE pk WHEN 0 THEN '' ELSE ' key' END) FROM pragma_table_info('{table}') ORDER BY name");
            lines.Add($"table {table}: {string.Join(", ", columns)}");
            foreach (var index in await QueryAsync(sqlite, $"SELECT name || (CASE \"unique\" WHEN 1 THEN ' unique' ELSE '' END) FROM pragma_index_list('{table}') WHERE origin = 'c' ORDER BY name"))
            {
                var name = index.Split(' ')[0];
                var indexed = await QueryAsync(sqlite, $"SELECT name FROM pragma_index_info('{name}') ORDER BY seqno");
                lines.Add($"index {index} ({string.Join(", ", indexed)})");
            }
        }
        return string.Join("\n", lines);
    }

    private static async Task<List<string>> QueryAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
