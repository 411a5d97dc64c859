#include "runtime/portlayer/template_key.h"

#include <gtest/gtest.h>

namespace vic::pl {
namespace {

TemplateInputs inputs() { return {"sha256:ab12", "7.2.22/tcg", 1, 512, 8ull << 30}; }

TEST(TemplateKey, NamesTheShapeAndChangesWithEveryInput) {
  std::string key = templateKey(inputs());
  EXPECT_EQ(key.size(), 12u + std::string("-512m-1c").size());
  EXPECT_EQ(key.substr(12), "-512m-1c");
  EXPECT_EQ(templateKey(inputs()), key);  // stable
  auto other = inputs();
  other.imageDigest = "sha256:ab13";
  EXPECT_NE(templateKey(other), key);
  other = inputs();
  other.hypervisor = "7.2.22/kvm";
  EXPECT_NE(templateKey(other), key);
  other = inputs();
  other.diskBytes = 16ull << 30;
  EXPECT_NE(templateKey(other), key);
  other = inputs();
  other.layout = "moved";
  EXPECT_NE(templateKey(other), key);
  other = inputs();
  other.vcpus = 2;
  EXPECT_EQ(templateKey(other).substr(12), "-512m-2c");
}

TEST(TemplateRecord, OnlyTheExactInputsMatch) {
  std::string rec = encodeTemplateRecord(inputs(), "0.1.0-6.1.0-abc");
  EXPECT_TRUE(checkTemplateRecord(rec, inputs()));
  auto other = inputs();
  other.memoryMiB = 1024;
  auto st = checkTemplateRecord(rec, other);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "it was made for another memoryMiB");
  other = inputs();
  other.imageDigest = "sha256:ffff";
  EXPECT_FALSE(checkTemplateRecord(rec, other));
  EXPECT_FALSE(checkTemplateRecord("", inputs()));
  EXPECT_FALSE(checkTemplateRecord("[1]", inputs()));
  EXPECT_FALSE(checkTemplateRecord(R"({"image":"sha256:ab12"})", inputs()));  // fields missing
}

TEST(TemplateRecord, StaleMeansMadeForOtherImagesOrHostsWhateverTheShape) {
  auto other = inputs();
  other.memoryMiB = 2048;
  other.vcpus = 4;
  EXPECT_FALSE(staleTemplateRecord(encodeTemplateRecord(other, "v"), inputs()));  // another shape: kept
  other.imageDigest = "sha256:old";
  EXPECT_TRUE(staleTemplateRecord(encodeTemplateRecord(other, "v"), inputs()));
  EXPECT_TRUE(staleTemplateRecord("", inputs()));
  EXPECT_TRUE(staleTemplateRecord(R"({"vcpus":"1","memoryMiB":512})", inputs()));
}

}  // namespace
}  // namespace vic::pl
