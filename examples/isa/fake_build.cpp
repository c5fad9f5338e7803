// Stands in for one ISA build of a tool in the launcher tests: prints the file name it runs
// as and its arguments, so a test sees which build the launcher chose and what it passed on.
#include <unistd.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    std::string self(4096, '\0');
    const ssize_t length = ::readlink("/proc/self/exe", self.data(), self.size());
    self.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
    std::printf("ran %s\n", self.substr(self.rfind('/') + 1).c_str());
    for (int i = 0; i < argc; ++i) {
        std::printf("argv[%d]=<%s>\n", i, argv[i]);
    }
    return 0;
}
