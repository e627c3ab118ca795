using Microsoft.Extensions.Configuration;
using RnnService.Training.Jobs;

namespace RnnService.Api.Tests.ScaleOut;

public sealed class RolesTests
{
    [Theory]
    [InlineData(null, true, true)]
    [InlineData("", true, true)]
    [InlineData("api", true, false)]
    [InlineData("Worker", false, true)]
    [InlineData("api,worker", true, true)]
    [InlineData(" worker ; api ", true, true)]
    public void RolesAreReadFromTheSetting(string? setting, bool api, bool worker)
    {
        var roles = ServiceRoles.From(Configuration(setting));

        Assert.Equal(new ServiceRoles(api, worker), roles);
    }

    [Theory]
    [InlineData("gpu", "'gpu' is not a role")]
    [InlineData("api,trainer", "'trainer' is not a role")]
    [InlineData(",", "names no role")]
    public void AnUnknownRoleStopsTheStartWithItsName(string setting, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ServiceRoles.From(Configuration(setting)));

        Assert.Contains(message, error.Message);
    }

    private static IConfiguration Configuration(string? roles) =>
        new ConfigurationBuilder().AddInMemoryCollection([new(ServiceRoles.Key, roles)]).Build();
}
