using Npgsql;

namespace RnnService.Api.Tests.Infrastructure;

/// <summary>
/// A fresh database on the tests' PostgreSQL server (started by scripts/test.sh, which sets RNNSERVICE_TEST_POSTGRES),
/// dropped again on dispose. Without the server these tests fail and say how to start it; they never skip.
/// </summary>
public sealed class PostgresDatabase : IDisposable
{
    public const string ServerVariable = "RNNSERVICE_TEST_POSTGRES";

    public PostgresDatabase()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable);
        if (string.IsNullOrWhiteSpace(server))
            throw new InvalidOperationException(
                $"{ServerVariable} is not set. Run the tests with scripts/test.sh, which starts a PostgreSQL server for them, " +
                "or start one first: eval \"$(scripts/test-postgres.sh start)\".");
        ServerConnectionString = server;
        Name = $"rnn_{Guid.NewGuid():N}";
        Execute($"CREATE DATABASE \"{Name}\"");
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = Name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>The connection string of this database, for <c>Storage:ConnectionString</c>.</summary>
    public string ConnectionString { get; }

    private string ServerConnectionString { get; }

    /// <summary>The settings that put a service on this database (as configuration keys).</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Storage:Provider"] = "Postgres",
        ["Storage:ConnectionString"] = ConnectionString,
    };

    /// <summary>The same settings as environment variables, for a service process.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentVariables => Settings.ToDictionary(pair => pair.Key.Replace(":", "__"), pair => pair.Value);

    /// <summary>Runs a query against this database and returns the first column of each row.</summary>
    public async Task<List<T>> QueryAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<T>();
        while (await reader.ReadAsync()) values.Add(reader.GetFieldValue<T>(0));
        return values;
    }

    private void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(ServerConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Execute($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
    }
}
