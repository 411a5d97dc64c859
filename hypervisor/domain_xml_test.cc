#include "hypervisor/domain_xml.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace vic::hv {
namespace {

std::string golden(const std::string& name) {
  std::ifstream in(std::string(VIC_HV_TESTDATA) + "/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// libvirt's own schema check of a golden file.
void expectValidDomain(const std::string& name) {
  std::string path = std::string(VIC_HV_TESTDATA) + "/" + name;
  int rc = std::system(("virt-xml-validate " + path + " domain >/dev/null 2>&1").c_str());
  EXPECT_EQ(rc, 0) << "virt-xml-validate rejected " << path;
}

VmSpec containerVm() {
  VmSpec s;
  s.name = "c-3f2a";
  s.vcpus = 2;
  s.memoryMiB = 2048;
  s.kernel = "/var/lib/vic/vch1/bootstrap/vmlinuz";
  s.initrd = "/var/lib/vic/vch1/bootstrap/bootstrap.img";
  s.cmdline = "console=ttyS0 quiet panic=-1";
  s.disks.push_back({"/var/lib/vic/vch1/containers/3f2a/rw.qcow2", "containerfs", "qcow2", false});
  s.disks.push_back({"/var/lib/vic/vch1/volumes/data.qcow2", "vol-data", "qcow2", true});
  s.nics.push_back({"vic-vch1-bridge", "52:54:00:3f:2a:01"});
  s.tetherSocket = "/var/lib/vic/vch1/containers/3f2a/tether.sock";
  s.outputLog = "/var/lib/vic/vch1/containers/3f2a/output.log";
  s.consoleLog = "/var/lib/vic/vch1/containers/3f2a/console.log";
  s.vsockCid = 42;
  s.fwCfg["opt/org.vic/config"] = "/var/lib/vic/vch1/containers/3f2a/config.json";
  s.partition = "/machine/vch1";
  s.metadata["config"] = R"({"id":"3f2a","name":"web & <db>"})";
  s.metadata["state"] = "created";
  return s;
}

TEST(DomainXml, ContainerVmMatchesGolden) {
  EXPECT_EQ(domainXml(containerVm(), "qemu"), golden("containervm.xml"));
}

TEST(DomainXml, GoldenIsValidLibvirtXml) {
  expectValidDomain("containervm.xml");
}

TEST(DomainXml, KvmAddsHostCpuAndMinimalSpecHasNoOptionalDevices) {
  VmSpec s;
  s.name = "bare";
  std::string xml = domainXml(s, "kvm");
  EXPECT_NE(xml.find("<domain type='kvm' xmlns:qemu="), std::string::npos);
  EXPECT_NE(xml.find("host-passthrough"), std::string::npos);
  EXPECT_EQ(xml.find("<channel"), std::string::npos);
  EXPECT_EQ(xml.find("<partition>"), std::string::npos);
  EXPECT_EQ(xml.find("<sysinfo"), std::string::npos);
  EXPECT_EQ(xml.find("<controller"), std::string::npos);  // no channel, no virtio-serial
  EXPECT_EQ(xml.find("<qemu:commandline>"), std::string::npos);
}

VmSpec templateVm() {
  VmSpec s;
  s.name = "vch1-template-256m-1c";
  s.memoryMiB = 256;
  s.kernel = "/var/lib/vic/vch1/bootstrap/vmlinuz";
  s.initrd = "/var/lib/vic/vch1/bootstrap/bootstrap.img";
  s.cmdline = "console=ttyS0 quiet panic=-1";
  s.tetherSocket = "/run/vic/vch1/template.sock";
  s.outputLog = "/var/lib/vic/vch1/templates/t1/output.log";
  s.consoleLog = "/var/lib/vic/vch1/templates/t1/console.log";
  s.partition = "/machine/vch1";
  s.templateMemoryFile = "/var/lib/vic/vch1/templates/t1/memory";
  s.disks.push_back({"/var/lib/vic/vch1/templates/t1/disk.qcow2", "", "qcow2", false});
  s.nics.push_back({"vic-vch1-bridge", "02:00:00:00:00:01", false});
  return s;
}

TEST(DomainXml, TemplateMatchesGoldenAndIsValid) {
  EXPECT_EQ(domainXml(templateVm(), "qemu"), golden("template.xml"));
  expectValidDomain("template.xml");
}

TEST(DomainXml, TemplateMemoryPathCommasAndQuotesAreEscaped) {
  VmSpec s = templateVm();
  s.templateMemoryFile = "/srv/a,b/it's";
  std::string xml = domainXml(s, "qemu");
  EXPECT_NE(xml.find("mem-path=/srv/a,,b/it&apos;s,share=on"), std::string::npos) << xml;
}

// As libvirt hands back a defined domain: double quotes, its own namespace declaration.
constexpr const char* kInactive =
    "<domain type=\"qemu\" xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\">\n"
    "  <name>vch1-3f2a</name>\n  <uuid>11111111-2222-3333-4444-555555555555</uuid>\n"
    "  <memory unit=\"KiB\">262144</memory>\n"
    "  <os>\n    <type arch=\"x86_64\" machine=\"pc-i440fx-7.2\">hvm</type>\n  </os>\n"
    "  <devices>\n    <memballoon model=\"none\"/>\n  </devices>\n"
    "  <qemu:capabilities>\n    <qemu:del capability=\"cpu-unavailable-features\"/>\n  </qemu:capabilities>\n"
    "</domain>\n";

TEST(CloneDomainXml, KeepsTheIdentityAndAddsPrivateMemoryAndADeferredIncoming) {
  CloneSource src{"/var/lib/vic/vch1/templates/t1/memory", "/var/lib/vic/vch1/templates/t1/state", 256};
  auto xml = cloneDomainXml(kInactive, src);
  ASSERT_TRUE(xml) << xml.error().message();
  EXPECT_EQ(*xml, golden("clone.xml"));
  expectValidDomain("clone.xml");
}

TEST(CloneDomainXml, AddsTheNamespaceWhenMissingAndRefusesTemplatesAndGarbage) {
  CloneSource src{"/m", "/s", 64};
  auto xml = cloneDomainXml("<domain type='kvm'><name>x</name></domain>", src);
  ASSERT_TRUE(xml);
  EXPECT_EQ(xml->rfind("<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>", 0), 0u) << *xml;
  EXPECT_NE(xml->find("size=64M,mem-path=/m,share=off"), std::string::npos);
  auto tmpl = domainXml(templateVm(), "qemu");
  EXPECT_EQ(cloneDomainXml(tmpl, src).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(cloneDomainXml("<network/>", src).error().code(), Errc::kProtocol);
  std::string legacy = "<domain type='qemu'><devices><channel type='file'><source path='/o.log' append='on'/>"
                       "<target type='virtio' name='org.vic.log'/></channel></devices></domain>";
  EXPECT_EQ(cloneDomainXml(legacy, src).error().code(), Errc::kInvalidArgument);  // defined by an earlier version
  EXPECT_EQ(cloneDomainXml("</domain><domain type='x'>", src).error().code(), Errc::kProtocol);
}

// A container's own XML carries the log port on QEMU's command line: the clone's args join it.
TEST(CloneDomainXml, JoinsTheLogPortsCommandLine) {
  CloneSource src{"/m", "/s", 64};
  auto xml = cloneDomainXml(domainXml(containerVm(), "qemu"), src);
  ASSERT_TRUE(xml) << xml.error().message();
  EXPECT_EQ(xml->find("<qemu:commandline>"), xml->rfind("<qemu:commandline>")) << *xml;  // one element
  size_t log = xml->find("id=vic.log,"), mem = xml->find("id=vic.ram"), incoming = xml->find("'-incoming'");
  ASSERT_NE(log, std::string::npos);
  ASSERT_NE(mem, std::string::npos);
  EXPECT_LT(mem, incoming);
  EXPECT_LT(incoming, xml->find("</qemu:commandline>"));
  EXPECT_EQ(cloneDomainXml("<domain type='qemu'><qemu:commandline><qemu:arg value='x'/></domain>", src).error().code(),
            Errc::kProtocol);
}

// docker logs keeps everything: the log port is no libvirt channel (virtlogd would rotate it away).
TEST(DomainXml, QemuItselfWritesTheOutputLog) {
  VmSpec s = containerVm();
  s.outputLog = "/srv/a,b/out.log";
  std::string xml = domainXml(s, "qemu");
  EXPECT_EQ(xml.find("<channel type='file'"), std::string::npos);
  EXPECT_NE(xml.find("<qemu:arg value='file,id=vic.log,path=/srv/a,,b/out.log,append=on'/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("{&quot;bus&quot;:&quot;virtio-serial0.0&quot;,&quot;chardev&quot;:&quot;vic.log&quot;,&quot;driver&quot;:"
                     "&quot;virtserialport&quot;,&quot;id&quot;:&quot;vic.logport&quot;,&quot;name&quot;:&quot;org.vic.log&quot;,"
                     "&quot;nr&quot;:2}"),
            std::string::npos);
}

// The vsock device sits where the template has it, whatever extra disks and NICs a clone has,
// and carries the VM's own CID: a clone's QEMU gets its own (the guest re-reads it after the
// transport reset vhost-vsock sends once the migration is in).
TEST(DomainXml, VsockHasAFixedSlotAndTheVmsOwnCidAlsoInAClone) {
  VmSpec s = containerVm();
  s.vsockCid = 7;
  std::string xml = domainXml(s, "qemu");
  EXPECT_NE(xml.find("<vsock model='virtio'><cid auto='no' address='7'/><address type='pci' domain='0x0000' bus='0x00' "
                     "slot='0x1c' function='0x0'/></vsock>"),
            std::string::npos)
      << xml;
  EXPECT_EQ(vsockCidOf(xml), std::optional<uint32_t>(7));
  CloneSource src{"/m", "/s", 2048};
  auto clone = cloneDomainXml(xml, src);
  ASSERT_TRUE(clone) << clone.error().message();
  EXPECT_EQ(vsockCidOf(*clone), std::optional<uint32_t>(7));
  EXPECT_NE(clone->find("slot='0x1c'"), std::string::npos);
  s.vsockCid.reset();
  EXPECT_EQ(domainXml(s, "qemu").find("<vsock"), std::string::npos);  // virtio-serial only
}

TEST(VsockCidOf, ReadsLibvirtsFormsAndNothingElse) {
  std::string live =
      "<domain><devices><vsock model=\"virtio\">\n  <cid auto=\"yes\" address=\"4242\"/>\n  <alias name=\"vsock0\"/>\n"
      "  <address type=\"pci\" domain=\"0x0000\" bus=\"0x00\" slot=\"0x1c\" function=\"0x0\"/>\n</vsock></devices></domain>";
  EXPECT_EQ(vsockCidOf(live), std::optional<uint32_t>(4242));
  EXPECT_EQ(vsockCidOf("<domain><vsock model='virtio'><cid auto='yes'/></vsock></domain>"), std::nullopt);  // not chosen yet
  EXPECT_EQ(vsockCidOf("<domain><devices/></domain>"), std::nullopt);
  EXPECT_EQ(vsockCidOf("<vsock model='virtio'></vsock><cid address='3'/>"), std::nullopt);  // not the vsock's
  EXPECT_EQ(vsockCidOf("<vsock><cid address='x'/></vsock>"), std::nullopt);
  EXPECT_EQ(vsockCidOf("<vsock><cid address='99999999999'/></vsock>"), std::nullopt);
  EXPECT_EQ(vsockCidOf("<vsock><cid address='"), std::nullopt);
}

TEST(DownLinkAliases, NamesTheNicsThatMustHaveNoCarrier) {
  std::string live =
      "<domain><devices><interface type=\"network\"><mac address=\"02:00:00:00:00:01\"/><link state=\"down\"/>"
      "<alias name=\"net0\"/></interface><interface type='network'><alias name='net1'/></interface>"
      "<interface type='network'><link state='down'/><alias name='n&amp;2'/></interface></devices></domain>";
  EXPECT_EQ(downLinkAliases(live), (std::vector<std::string>{"net0", "n&2"}));
  EXPECT_TRUE(downLinkAliases("<domain/>").empty());
  EXPECT_TRUE(downLinkAliases("<interface><link state='down'/>").empty());  // unterminated
}

TEST(PssBytes, ReadsTheProportionalSetSizeOfSmapsRollup) {
  std::string rollup =
      "55d0a6a00000-7ffd1b3f6000 ---p 00000000 00:00 0                          [rollup]\n"
      "Rss:              123456 kB\nPss:               98765 kB\nPss_Anon:          70000 kB\n";
  EXPECT_EQ(pssBytes(rollup), std::optional<uint64_t>(98765ull * 1024));
  EXPECT_EQ(pssBytes("Rss: 1 kB\n"), std::nullopt);
  EXPECT_EQ(pssBytes("Pss: lots kB\n"), std::nullopt);
  EXPECT_EQ(pssBytes(""), std::nullopt);
}

TEST(MigrationStatus, ReadsTheStatusAndTurnsFailuresIntoErrors) {
  EXPECT_EQ(*migrationStatus(R"({"return": {}})"), "");
  EXPECT_EQ(*migrationStatus(R"({"return": {"status": "active", "ram": {}}})"), "active");
  EXPECT_EQ(*migrationStatus(R"({"return": {"status": "completed"}})"), "completed");
  auto failed = migrationStatus(R"({"return": {"status": "failed", "error-desc": "Unknown savevm section"}})");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message(), "migration failed: Unknown savevm section");
  EXPECT_FALSE(migrationStatus("[]"));
  EXPECT_FALSE(migrationStatus(R"({"error": {"desc": "x"}})"));
}

TEST(NetworkXml, PortGroupGoldenAndValidation) {
  PortGroupSpec pg{"vch1-bridge", "vicbr1", "172.16.0.1/16", "172.16.0.2", "172.16.255.254", true};
  auto xml = networkXml(pg);
  ASSERT_TRUE(xml);
  EXPECT_EQ(*xml, golden("portgroup.xml"));
  std::string path = std::string(VIC_HV_TESTDATA) + "/portgroup.xml";
  EXPECT_EQ(std::system(("virt-xml-validate " + path + " network >/dev/null 2>&1").c_str()), 0);
  EXPECT_EQ(dhcpHostXml({"52:54:00:00:00:01", "172.16.0.5", {"web", "www"}}),
            "<host mac='52:54:00:00:00:01' name='web' ip='172.16.0.5'/>");
  EXPECT_EQ(dnsHostXml({"", "172.16.0.5", {"web", "www"}}),
            "<host ip='172.16.0.5'><hostname>web</hostname><hostname>www</hostname></host>");
  PortGroupSpec ext{"vch1-cn-lan", "br0", "", "", "", false, true};
  EXPECT_EQ(*networkXml(ext), "<network>\n  <name>vch1-cn-lan</name>\n  <forward mode='bridge'/>\n  <bridge name='br0'/>\n</network>\n");
  pg.gateway = "172.16.0.1";
  EXPECT_FALSE(networkXml(pg));
  pg.gateway = "172.16.0.1/31";
  EXPECT_FALSE(networkXml(pg));
  pg.gateway = "172.16.0.1/16";
  pg.bridge = "a-very-long-bridge-name";
  EXPECT_FALSE(networkXml(pg));
}

TEST(Metadata, RoundTripsIncludingLibvirtsReserialisation) {
  std::map<std::string, std::string> in = {{"config", R"({"a":"<b> & 'c'"})"}, {"empty", ""}, {"k2", "line1\nline2"}};
  auto ours = parseMetadataXml(metadataXml(in));
  ASSERT_TRUE(ours);
  EXPECT_EQ(*ours, in);
  // what libvirt returns: its own prefix, double quotes, self-closing empty elements
  std::string libvirtStyle =
      "<vicx:vm xmlns:vicx=\"https://vic.dev/xmlns/vm/1\">\n"
      "  <vicx:entry key=\"config\">{\"a\":\"&lt;b&gt; &amp; 'c'\"}</vicx:entry>\n"
      "  <vicx:entry key=\"empty\"/>\n"
      "  <vicx:entry key=\"k2\">line1\nline2</vicx:entry>\n"
      "</vicx:vm>";
  auto theirs = parseMetadataXml(libvirtStyle);
  ASSERT_TRUE(theirs);
  EXPECT_EQ(*theirs, in);
  auto unprefixed = parseMetadataXml("<vm>\n  <entry key=\"config\">abc</entry>\n</vm>");
  ASSERT_TRUE(unprefixed);
  EXPECT_EQ(unprefixed->at("config"), "abc");
  EXPECT_FALSE(parseMetadataXml("<vic:vm><vic:entry>no key</vic:entry></vic:vm>"));
}

TEST(DeviceElement, FindsTheWholeElementHoldingTheAttribute) {
  std::string xml = "<domain><devices>"
                    "<disk type='file' device='disk'><source file='/ds/a.qcow2'/><target dev='vda'/></disk>"
                    "<disk type='file' device='disk'><source file='/ds/b.qcow2'/><target dev='vdb'/></disk>"
                    "<interface type='network'><mac address='52:54:00:00:00:01'/></interface>"
                    "</devices></domain>";
  EXPECT_EQ(*deviceElement(xml, "disk", "file='/ds/b.qcow2'"),
            "<disk type='file' device='disk'><source file='/ds/b.qcow2'/><target dev='vdb'/></disk>");
  EXPECT_EQ(*deviceElement(xml, "interface", "address='52:54:00:00:00:01'"),
            "<interface type='network'><mac address='52:54:00:00:00:01'/></interface>");
  // the attribute exists, but not inside a <disk>: no element (the old search cut from npos)
  EXPECT_EQ(deviceElement(xml, "disk", "address='52:54:00:00:00:01'").error().code(), Errc::kNotFound);
  EXPECT_EQ(deviceElement(xml, "disk", "file='/ds/c.qcow2'").error().code(), Errc::kNotFound);
  EXPECT_EQ(deviceElement("<disk type='file'><source file='/x'/>", "disk", "file='/x'").error().code(), Errc::kNotFound);
}

TEST(QmpError, ReadsTheDescriptionOfAnErrorReply) {
  EXPECT_EQ(qmpError(R"({"return": {}, "id": "x"})"), "");
  EXPECT_EQ(qmpError(R"({"error": {"class": "GenericError", "desc": "no \"such\" command"}})"), "no \"such\" command");
  EXPECT_EQ(qmpError(R"({"error": "odd"})"), "\"odd\"");
  EXPECT_EQ(qmpError("not json"), "");
}

}  // namespace
}  // namespace vic::hv
