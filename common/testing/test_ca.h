// A self-signed CA certificate (PEM) for tests that need a valid one: registry CA files,
// vic-machine --registry-ca. Its key is not kept: nothing is ever signed with it.
#pragma once

namespace vic::testing {

inline constexpr const char* kTestCa = R"(-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUCjNwY9pDbziRLOgUGcQvCqDPickwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQdmljIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDIwODU3MDFaGA8y
MTI2MTEwODA4NTcwMVowGzEZMBcGA1UEAwwQdmljIHVuaXQgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABPx/4pp4RbWasvyRRQMv4aEr40Q4et7KGClk
h21nBG4r67M8C9h8y5t9AbfMhsBQwlMMFUgJKnBUMvW7pAPJ2kSjUzBRMB0GA1Ud
DgQWBBSc9vwxH9tcv9HzfCszvRZWbvi+BTAfBgNVHSMEGDAWgBSc9vwxH9tcv9Hz
fCszvRZWbvi+BTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCF
6n5bOtLkPuxMkbHsRRFPOormJ1kzJkSG51INkQ4dFwIgUOnb+asVISf67WTAAQG8
G9AwdIC6z70YWd5aoZHSZDk=
-----END CERTIFICATE-----
)";

}  // namespace vic::testing
