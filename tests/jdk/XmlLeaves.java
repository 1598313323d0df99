// Reads file paths on stdin, one per line; parses each with the JDK's own XML parser (the one Jenkins
// uses to load config.xml) and prints one line per file:
//   OK <TAB> path <TAB> base64(UTF-8 of "element/path=text\0" for every leaf element and attribute)
//   ERR <TAB> path <TAB> message
// One JVM serves a whole test session (tests/jdk_xml.py).
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.*;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXParseException;

public class XmlLeaves {
    public static void main(String[] args) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        DocumentBuilder b = f.newDocumentBuilder();
        b.setErrorHandler(new ErrorHandler() {
            public void warning(SAXParseException e) {}
            public void error(SAXParseException e) throws SAXParseException { throw e; }
            public void fatalError(SAXParseException e) throws SAXParseException { throw e; }
        });
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            try {
                Document d = b.parse(new File(line));
                StringBuilder sb = new StringBuilder();
                walk(d.getDocumentElement(), "", sb);
                out.println("OK\t" + line + "\t" + Base64.getEncoder().encodeToString(sb.toString().getBytes(StandardCharsets.UTF_8)));
            } catch (Exception e) {
                out.println("ERR\t" + line + "\t" + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
        }
    }

    static void walk(Element e, String parent, StringBuilder sb) {
        String path = parent + "/" + e.getTagName();
        NamedNodeMap attrs = e.getAttributes();
        java.util.TreeMap<String, String> sorted = new java.util.TreeMap<>();
        for (int i = 0; i < attrs.getLength(); i++) sorted.put(attrs.item(i).getNodeName(), attrs.item(i).getNodeValue());
        for (java.util.Map.Entry<String, String> a : sorted.entrySet()) {
            if (!a.getKey().equals("plugin")) sb.append(path).append("@").append(a.getKey()).append("=").append(a.getValue()).append('\0');
        }
        boolean leaf = true;
        for (Node c = e.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (c instanceof Element) { leaf = false; walk((Element) c, path, sb); }
        }
        if (leaf) sb.append(path).append("=").append(e.getTextContent()).append('\0');
    }
}
